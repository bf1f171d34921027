import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';

// The checkpointer runs a compiled worker thread: the built module is tested (`npm test` builds first).
type DbModule = typeof import('../db/index.js');
const built = (): Promise<DbModule> => import(resolve(import.meta.dirname, '../dist/db/index.js')) as Promise<DbModule>;

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

describe('background WAL checkpoints during large writes', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A new database with a table of 2 KB rows, removed after the test. */
  async function blobTable() {
    const { openDatabase, BackgroundCheckpointer } = await built();
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const path = join(tmp.dir, 'k.db');
    const handle = await openDatabase(path);
    cleanups.push(() => handle.close());
    handle.sqlite.exec('CREATE TABLE blob_rows (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = handle.sqlite.prepare('INSERT INTO blob_rows (body) VALUES (?)');
    return { BackgroundCheckpointer, path, handle, insert, body: 'x'.repeat(2000) };
  }

  it('copies committed pages into the database file while the writer only appends to the WAL', async () => {
    const { BackgroundCheckpointer, path, handle, insert, body } = await blobTable();
    const before = handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    const dbBytesBefore = statSync(path).size;

    const checkpointer = BackgroundCheckpointer.start(handle);
    expect(checkpointer).not.toBeNull();
    // The writer's own checkpoints now wait for a 512 MiB WAL.
    const pageSize = handle.sqlite.pragma('page_size', { simple: true }) as number;
    expect((handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number) * pageSize).toBeGreaterThanOrEqual(512 * 1024 * 1024);
    for (let t = 0; t < 10; t++) handle.sqlite.transaction(() => { for (let i = 0; i < 1000; i++) insert.run(body); })();

    // About 20 MB were committed: the background thread moves them from the WAL into the database file.
    expect(await until(() => statSync(path).size > dbBytesBefore + 15_000_000, 5000)).toBe(true);
    await checkpointer!.stop();
    expect(handle.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(before);
    expect(handle.sqlite.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 10_000 });
  });

  it('starts a large WAL over once everything committed is copied, instead of letting it grow to the backstop', async () => {
    const { BackgroundCheckpointer, path, handle, insert, body } = await blobTable();
    const checkpointer = BackgroundCheckpointer.start(handle, { restartBytes: 2 * 1024 * 1024 })!;
    let restarts = 0;
    let walBytes = 0;
    // 30 groups of ~1 MB, as an ingest writes them: during a group the writer asks whether to start the WAL
    // over; if so it ends the group there (its frames are not copied yet) and has it copied (restartWal).
    for (let t = 0; t < 30; t++) {
      handle.sqlite.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < 500; i++) insert.run(body);
      const due = await until(() => checkpointer.restartDue, t % 5 === 4 ? 2000 : 0);
      handle.sqlite.exec('COMMIT');
      checkpointer.noteCommit();
      walBytes = Math.max(walBytes, statSync(`${path}-wal`).size);
      if (due) {
        checkpointer.restartWal();
        restarts++;
      }
    }
    await checkpointer.stop();
    expect(restarts).toBeGreaterThanOrEqual(3);
    // Started over from its beginning: the WAL file never held more than a few commits (30 MB were written).
    expect(walBytes).toBeLessThan(16 * 1024 * 1024);
    expect(handle.sqlite.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 15_000 });
  });

  it('lets a writer that never yields to its event loop see the copy catch up (its progress is shared memory, not messages)', async () => {
    const { BackgroundCheckpointer, handle, insert, body } = await blobTable();
    const checkpointer = BackgroundCheckpointer.start(handle, { restartBytes: 1024 * 1024, intervalMs: 20 })!;
    // An ingest writer commits batch after batch while the parse worker is ahead, without an event-loop turn in
    // between: a report posted as a message would only arrive once it stopped.
    const sleep = new Int32Array(new SharedArrayBuffer(4));
    let due = false;
    let rows = 0;
    handle.sqlite.exec('BEGIN IMMEDIATE');
    for (; rows < 2000; rows++) insert.run(body);
    handle.sqlite.exec('COMMIT');
    checkpointer.noteCommit();
    handle.sqlite.exec('BEGIN IMMEDIATE');
    for (let waited = 0; waited < 5000 && !due; waited += 10) {
      insert.run(body);
      rows++;
      due = checkpointer.restartDue;
      if (!due) Atomics.wait(sleep, 0, 0, 10);
    }
    handle.sqlite.exec('COMMIT');
    checkpointer.noteCommit();
    expect(due).toBe(true);
    await checkpointer.stop();
    expect(handle.sqlite.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: rows });
  });

  it('stops cleanly when its thread has already ended', async () => {
    const { openDatabase, BackgroundCheckpointer } = await built();
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const handle = await openDatabase(join(tmp.dir, 'k.db'));
    cleanups.push(() => handle.close());
    const checkpointer = BackgroundCheckpointer.start(handle)!;
    await (checkpointer as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await expect(Promise.race([checkpointer.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 3000))])).resolves.toBe('stopped');
  });
});
