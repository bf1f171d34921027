import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, NEW_DATABASE_PAGE_SIZE } from '../db/index.js';
import { tempDir } from './helpers/cli.js';

describe('database page size', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('creates a new database with 16 KiB pages, in WAL mode', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const handle = await openDatabase(join(tmp.dir, 'new.db'));
    cleanups.push(() => handle.close());
    expect(NEW_DATABASE_PAGE_SIZE).toBe(16384);
    expect(handle.sqlite.pragma('page_size', { simple: true })).toBe(16384);
    expect(handle.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('keeps the page size of an existing database, whose rows stay readable and writable', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const path = join(tmp.dir, 'old.db');
    // A database created before keytrail chose its page size: SQLite's 4 KiB default, with data in it.
    const old = new Database(path);
    old.exec('CREATE TABLE before_upgrade (id INTEGER PRIMARY KEY, body TEXT)');
    old.prepare('INSERT INTO before_upgrade (body) VALUES (?)').run('kept');
    old.close();

    const handle = await openDatabase(path);
    cleanups.push(() => handle.close());
    expect(handle.sqlite.pragma('page_size', { simple: true })).toBe(4096);
    expect(handle.sqlite.prepare('SELECT body FROM before_upgrade').pluck().all()).toEqual(['kept']);
    // Migrations ran on it as on any other database.
    expect(handle.sqlite.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_entries'").pluck().get()).toBe(1);
  });
});
