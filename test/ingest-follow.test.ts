import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, openSync, closeSync, writeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { count, lines, startCli, waitFor, writeLines } from './fixtures/ingest/util.js';

const tmp = tempDir('keytrail-follow-');
afterAll(() => tmp.cleanup());

describe('ingest vault --follow', () => {
  it('tails, follows rename-and-recreate and new files, and stops cleanly on SIGTERM', async () => {
    const db = join(tmp.dir, 'k.db');
    const dir = join(tmp.dir, 'logs');
    const ls = lines({ lines: 40, seed: 31 });
    const log = join(dir, 'audit.log');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeLines(log, ls.slice(0, 10));
    const run = startCli(['--db', db, 'ingest', 'vault', dir, '--follow', '--format', 'json']);
    await waitFor(() => count(db, 'audit_entries') === 10, 20_000, 'initial lines');

    // Vault keeps writing through its open descriptor until SIGHUP, even after logrotate renamed the file.
    const fd = openSync(log, 'a');
    writeSync(fd, ls.slice(10, 15).map((l) => l + '\n').join(''));
    renameSync(log, join(dir, 'audit.log.1'));
    writeSync(fd, ls.slice(15, 18).map((l) => l + '\n').join(''));
    closeSync(fd);
    writeLines(log, ls.slice(18, 22));
    // An unfinished line waits for its end.
    appendFileSync(log, ls[22]!.slice(0, 40));
    writeLines(join(dir, 'other.jsonl'), ls.slice(30, 33));
    await waitFor(() => count(db, 'audit_entries') === 25, 20_000, 'rotated and new files');
    appendFileSync(log, ls[22]!.slice(40) + '\n');
    await waitFor(() => count(db, 'audit_entries') === 26, 20_000, 'the completed line');

    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).toBe(0);
    const summary = JSON.parse(run.stdout().trim()) as Record<string, number>;
    expect(summary).toMatchObject({ lines: 26, stored: 26, duplicates: 0, quarantined: 0 });
  });
});
