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

  it('copies committed pages into the database file while the writer only appends to the WAL', async () => {
    const { openDatabase, BackgroundCheckpointer } = await built();
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const path = join(tmp.dir, 'k.db');
    const handle = await openDatabase(path);
    cleanups.push(() => handle.close());
    handle.sqlite.exec('CREATE TABLE blob_rows (id INTEGER PRIMARY KEY, body TEXT)');
    const before = handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    const dbBytesBefore = statSync(path).size;

    const checkpointer = BackgroundCheckpointer.start(handle);
    expect(checkpointer).not.toBeNull();
    // The writer's own checkpoints now wait for a 512 MiB WAL.
    const pageSize = handle.sqlite.pragma('page_size', { simple: true }) as number;
    expect((handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number) * pageSize).toBeGreaterThanOrEqual(512 * 1024 * 1024);
    const insert = handle.sqlite.prepare('INSERT INTO blob_rows (body) VALUES (?)');
    const body = 'x'.repeat(2000);
    for (let t = 0; t < 10; t++) handle.sqlite.transaction(() => { for (let i = 0; i < 1000; i++) insert.run(body); })();

    // About 20 MB were committed: the background thread moves them from the WAL into the database file.
    expect(await until(() => statSync(path).size > dbBytesBefore + 15_000_000, 5000)).toBe(true);
    await checkpointer!.stop();
    expect(handle.sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(before);
    expect(handle.sqlite.prepare('SELECT COUNT(*) AS n FROM blob_rows').get()).toEqual({ n: 10_000 });
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
