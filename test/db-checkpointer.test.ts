import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
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
    // Only once the WAL holds 2 MB again (two groups) and is copied: not after every group.
    expect(restarts).toBeLessThanOrEqual(15);
    // Started over from its beginning: the WAL file never held more than a few commits (30 MB were written).
    expect(walBytes).toBeLessThan(16 * 1024 * 1024);
    expect(handle.sqlite.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 15_000 });
  });

  it('lets a writer that never yields to its event loop see the copy catch up (its progress is shared memory, not messages)', async () => {
    const { BackgroundCheckpointer, path, handle, insert, body } = await blobTable();
    const checkpointer = BackgroundCheckpointer.start(handle, { restartBytes: 1024 * 1024, intervalMs: 20 })!;
    // An ingest writer commits batch after batch while the parse worker is ahead, without an event-loop turn in
    // between: a report posted as a message would only arrive once it stopped. Everything here is synchronous.
    const sleep = new Int32Array(new SharedArrayBuffer(4));
    let rows = 0;
    const group = (n: number) => {
      handle.sqlite.transaction(() => {
        for (let i = 0; i < n; i++) insert.run(body);
      })();
      checkpointer.noteCommit();
      rows += n;
    };
    const dueWithin = (ms: number) => {
      for (let waited = 0; waited < ms; waited += 10) {
        if (checkpointer.restartDue) return true;
        Atomics.wait(sleep, 0, 0, 10);
      }
      return checkpointer.restartDue;
    };
    group(2000);
    // A reader whose snapshot holds those frames (it starts before any checkpoint could have copied them) keeps
    // the next commit from starting the WAL over by itself.
    const reader = new Database(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM blob_rows').get();
    // 4 MB committed, over the 1 MB threshold: due once the copy has caught up with this commit.
    expect(dueWithin(5000)).toBe(true);
    group(10);
    // The last report is of a checkpoint begun before this commit: not due until that commit is copied too.
    expect(checkpointer.restartDue).toBe(false);
    reader.exec('COMMIT');
    reader.close();
    expect(dueWithin(5000)).toBe(true);
    checkpointer.restartWal();
    // A report of a checkpoint begun before the restart describes the old WAL.
    expect(checkpointer.restartDue).toBe(false);
    expect(checkpointer.checkpointsDone).toBeGreaterThan(0);
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
