/**
 * `simulate` is deterministic for a seed (same bytes in every file, gzip included) and a different seed gives a
 * different organisation; the CLI writes the same files as the library.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate } from '../sim/index.js';
import { runCli, tempDir } from './helpers/cli.js';
import { listFiles } from './simulate-helpers.js';

const tmp = tempDir('keytrail-sim-det-');
afterAll(() => tmp.cleanup());

function digest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles(dir)) out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

describe('simulate determinism', () => {
  it('same seed → same bytes in every file; another seed → different files', async () => {
    const opts = { seed: 7, days: 3, projects: 5, jobsPerDay: 25 } as const;
    const a = await simulate({ ...opts, outDir: join(tmp.dir, 'a') });
    const b = await simulate({ ...opts, outDir: join(tmp.dir, 'b') });
    const c = await simulate({ ...opts, seed: 8, outDir: join(tmp.dir, 'c') });
    const da = digest(a.outDir);
    const db = digest(b.outDir);
    expect(Object.keys(da).length).toBeGreaterThan(10);
    expect(Object.keys(da).some((f) => f.endsWith('.gz'))).toBe(true);
    expect(db).toEqual(da);
    const dc = digest(c.outDir);
    for (const f of ['ground-truth.json', 'gitlab/jobs.ndjson', 'gitlab/pipelines.ndjson', 'vault/vault-1/file-audit/audit.log']) {
      expect(dc[f], f).toBeDefined();
      expect(dc[f], f).not.toBe(da[f]);
    }
  });

  it('the CLI writes what the library writes and prints a one-line summary', async () => {
    const lib = await simulate({ seed: 3, days: 2, projects: 4, jobsPerDay: 15, anomalies: 'none', outDir: join(tmp.dir, 'lib') });
    const out = join(tmp.dir, 'cli');
    const res = await runCli(['simulate', '--out', out, '--seed', '3', '--days', '2', '--projects', '4', '--jobs-per-day', '15', '--anomalies', 'none', '--quiet']);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ seed: 3, days: 2, requests: lib.requests, lines: lib.lines, jobs: lib.jobs, anomalies: 0 });
    expect(digest(out)).toEqual(digest(lib.outDir));
  });

  it('rejects a bad --anomalies value as a usage error', async () => {
    const res = await runCli(['simulate', '--out', join(tmp.dir, 'bad'), '--anomalies', 'some']);
    expect(res.code).toBe(2);
  });
});
