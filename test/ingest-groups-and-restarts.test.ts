import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { writeAuditFile } from '../bench/gen-audit.js';

// The parse worker and the background checkpointer are compiled worker threads: the built modules are tested
// (`npm test` builds first), as the CLI runs them; the spies sit on the built classes.
type DbModule = typeof import('../db/index.js');
type IngestModule = typeof import('../ingest/index.js');
type StoreModule = typeof import('../ingest/store.js');
const dist = (path: string) => resolve(import.meta.dirname, '../dist', path);
const built = async () => ({
  db: (await import(dist('db/index.js'))) as DbModule,
  ingest: (await import(dist('ingest/index.js'))) as IngestModule,
  store: (await import(dist('ingest/store.js'))) as StoreModule,
});

const tmp = tempDir('keytrail-groups-');
afterAll(() => tmp.cleanup());

const LINES = 8000;
let file: string | undefined;
async function auditFile(): Promise<string> {
  if (!file) {
    file = join(tmp.dir, 'audit.log');
    expect(await writeAuditFile(file, { lines: LINES, seed: 17 })).toBeGreaterThan(8 * 1024 * 1024);
  }
  return file;
}

/**
 * Ingests the ~11 MB file into a new database in 100-line batches (the parse worker and the checkpointer run,
 * as for any file over 4 MiB), counting the group commits and the WAL restarts the writer asks for.
 */
async function ingestCounting(name: string, tuning: NonNullable<Parameters<IngestModule['ingestVaultFiles']>[2]>['tuning']) {
  const { db, ingest, store } = await built();
  const groups = vi.spyOn(store.IngestStore.prototype, 'endGroup');
  const restarts = vi.spyOn(db.BackgroundCheckpointer.prototype, 'restartWal');
  const handle = await db.openDatabase(join(tmp.dir, `${name}.db`));
  try {
    const opts = { workerThresholdBytes: 0, batchLines: 100, tuning };
    const first = await ingest.ingestVaultFiles(handle, [await auditFile()], opts);
    const again = await ingest.ingestVaultFiles(handle, [await auditFile()], opts);
    const ids = handle.sqlite.prepare('SELECT count(*) AS n, min(id) AS lo, max(id) AS hi, count(DISTINCT request_key) AS keys FROM audit_entries').get();
    const committed = groups.mock.results.filter((r) => r.type === 'return' && r.value === true).length;
    return { first, again, ids, committed, restarts: restarts.mock.calls.length };
  } finally {
    handle.close();
    groups.mockRestore();
    restarts.mockRestore();
  }
}

describe('ingest: how a large file is committed (groups, its tail, WAL restarts)', () => {
  it('commits the last part of a large file as a group of its own', async () => {
    // Groups end only at the tail here (no limit of batches or time).
    const untimed = { groupBatches: 10_000, groupMs: 600_000 };
    const whole = await ingestCounting('whole', { ...untimed, tailBytes: 64 * 1024 * 1024 });
    const tail = await ingestCounting('tail', { ...untimed, tailBytes: 2 * 1024 * 1024 });
    expect(whole.first).toMatchObject({ lines: LINES, stored: LINES, duplicates: 0 });
    expect(tail.first).toMatchObject({ lines: LINES, stored: LINES, duplicates: 0 });
    expect(whole.committed).toBe(1);
    expect(tail.committed).toBe(2);
  });

  it('ends groups early and starts the WAL over once the checkpointer has caught up, storing every line once', async () => {
    // 80 batches in groups of 4; the checkpointer copies and reports every 5 ms; restarts from 1 MiB of WAL.
    const restarting = await ingestCounting('restarting', { groupBatches: 4, walRestartBytes: 1024 * 1024, checkpointMs: 5 });
    expect(restarting.first).toMatchObject({ files: 1, lines: LINES, stored: LINES, duplicates: 0, quarantined: 0 });
    // One id a line, in order, every request key once; a second run finds nothing new.
    expect(restarting.ids).toEqual({ n: LINES, lo: 1, hi: LINES, keys: LINES });
    expect(restarting.again).toMatchObject({ lines: 0, stored: 0 });
    expect(restarting.restarts).toBeGreaterThan(0);

    // Out of reach, no restart is asked for (the WAL may still start over by itself between groups).
    const growing = await ingestCounting('growing', { groupBatches: 4, walRestartBytes: 1024 * 1024 * 1024, checkpointMs: 5 });
    expect(growing.first).toMatchObject({ lines: LINES, stored: LINES });
    expect(growing.restarts).toBe(0);
  });
});
