import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { writeAuditFile } from '../bench/gen-audit.js';
import { count, ingestVault, query, startCli, waitFor } from './fixtures/ingest/util.js';

const tmp = tempDir('keytrail-kill-');
afterAll(() => tmp.cleanup());

describe('ingest vault: crash safety', () => {
  it('SIGKILL in the middle of a large ingest, then a rerun: exact counts, no duplicates', async () => {
    // Enough lines that the first group (2 s of batches) commits well before the end, even on a fast machine
    // (100k lines once ended in 2.3 s, before the kill).
    const N = 250_000;
    const file = join(tmp.dir, 'audit.log');
    const db = join(tmp.dir, 'k.db');
    await writeAuditFile(file, { lines: N, seed: 11 });
    const run = startCli(['--db', db, 'ingest', 'vault', file, '--format', 'json']);
    await waitFor(() => count(db, 'ingest_batches') >= 2, 30_000, 'two committed batches');
    run.child.kill('SIGKILL');
    const { signal } = await run.exited;
    expect(signal).toBe('SIGKILL');
    const committed = query<{ lines: number }>(db, 'SELECT lines FROM audit_files')[0]!.lines;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(N);
    expect(count(db, 'audit_copies')).toBe(committed); // rows and checkpoint committed together

    const rerun = await ingestVault(db, [file]);
    expect(rerun).toMatchObject({ lines: N - committed, stored: N - committed, duplicates: 0, quarantined: 0 });
    expect(count(db, 'audit_entries')).toBe(N);
    expect(count(db, 'audit_copies')).toBe(N);
    expect(query<{ n: number }>(db, 'SELECT sum(line_count) AS n FROM ingest_batches')[0]!.n).toBe(N);
    // The hash chain has no gap across the crash.
    const chain = query<{ prev_chain_sha256: string | null; chain_sha256: string }>(db, 'SELECT prev_chain_sha256, chain_sha256 FROM ingest_batches ORDER BY id');
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev_chain_sha256).toBe(chain[i - 1]!.chain_sha256);
  });
});
