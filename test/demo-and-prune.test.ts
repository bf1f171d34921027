import { describe, expect, it, afterAll } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-demo-');
afterAll(() => tmp.cleanup());

describe('keytrail demo', () => {
  it('runs the whole pipeline on a fresh directory, tells the story, and runs again', async () => {
    const first = await runCli(['demo'], { cwd: tmp.dir, timeoutMs: 120_000 });
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    expect(first.stdout).toMatch(/Ingested \d+ audit lines/);
    expect(first.stdout).toMatch(/Correlated \d+ Vault requests/);
    expect(first.stdout).toMatch(/Detections raised \d+ findings/);
    expect(first.stdout).toContain('keytrail-demo/packs/2026-03/report.pdf');
    expect(first.stdout).toContain('Try next:');
    expect(existsSync(join(tmp.dir, 'keytrail-demo', 'keytrail.db'))).toBe(true);

    const verify = await runCli(['verify', 'keytrail-demo/packs/2026-03'], { cwd: tmp.dir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);

    // The story's suggested commands work.
    const query = await runCli(['query', 'accesses', '--db', 'keytrail-demo/keytrail.db', '--path', 'kv/data/**', '--attribution', 'claims', '--limit', '10', '--format', 'json'], { cwd: tmp.dir });
    expect(query.code).toBe(0);
    const rows = JSON.parse(query.stdout) as { attribution: string; job_id: number }[];
    expect(rows.length).toBe(10);
    expect(rows.every((r) => r.attribution === 'claims' && typeof r.job_id === 'number')).toBe(true);

    const second = await runCli(['demo'], { cwd: tmp.dir, timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout.replace(/listening on http:\/\/127\.0\.0\.1:\d+/, second.stdout.match(/listening on http:\/\/127\.0\.0\.1:\d+/)![0]));
  });

  it('prune drops old audit rows but keeps every batch hash, and a written pack still verifies', async () => {
    const db = join(tmp.dir, 'keytrail-demo', 'keytrail.db');
    const before = new Database(db, { readonly: true });
    const batches = before.prepare('select count(*) n from ingest_batches').get() as { n: number };
    const accesses = before.prepare('select count(*) n from accesses').get() as { n: number };
    before.close();
    expect(accesses.n).toBeGreaterThan(0);

    const r = await runCli(['prune', '--before', '2030-01-01', '--format', 'json', '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { accesses: number; batches_emptied: number };
    expect(summary.accesses).toBe(accesses.n);

    const after = new Database(db, { readonly: true });
    expect((after.prepare('select count(*) n from accesses').get() as { n: number }).n).toBe(0);
    expect((after.prepare('select count(*) n from audit_entries').get() as { n: number }).n).toBe(0);
    const kept = after.prepare('select count(*) n, sum(raw_bytes is null) emptied, sum(length(sha256) = 64) hashed from ingest_batches').get() as {
      n: number;
      emptied: number;
      hashed: number;
    };
    after.close();
    expect(kept.n).toBe(batches.n);
    expect(kept.hashed).toBe(batches.n);
    expect(kept.emptied).toBe(batches.n);

    const verify = await runCli(['verify', 'keytrail-demo/packs/2026-03'], { cwd: tmp.dir });
    expect(verify.code).toBe(0);
  });
});
