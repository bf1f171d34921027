import { join } from 'node:path';
import { Migrator } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { migrations } from '../migrations/index.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-rowline-');
afterAll(() => tmp.cleanup());

const COPY = 'entry_id, device, time, time_key, batch_id, line_offset, line_length, duplicate, accessor';

/** A database as keytrail wrote it before migration 0006: one copy row per device per line. */
async function oldDatabase(name: string, watermark: number) {
  const path = join(tmp.dir, name);
  const old = await openDatabase(path, { migrate: false });
  const result = await new Migrator({ db: old.db, provider: { getMigrations: async () => migrations } }).migrateTo('0005_batch_codec');
  expect(result.error).toBeUndefined();
  const s = old.sqlite;
  s.exec(`INSERT INTO ingest_batches (device, source, start_offset, end_offset, line_count, stored_count, duplicate_count, quarantined_count, sha256, stored_sha256, chain_sha256, created_at)
    VALUES ('a', 'file', 0, 10, 3, 3, 0, 0, 'x', 'x', 'x', 'now'), ('b', 'file', 0, 10, 2, 0, 2, 0, 'y', 'y', 'y', 'now')`);
  const entry = s.prepare("INSERT INTO audit_entries (request_id, type, time, time_key) VALUES (?, 'request', ?, ?)");
  for (const [rid, t] of [['r1', '2026-03-01T10:00:00Z'], ['r2', '2026-03-01T10:00:01Z'], ['r3', '2026-03-01T10:00:02Z']]) entry.run(rid, t, t);
  const copy = s.prepare(`INSERT INTO audit_copies (id, ${COPY}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  copy.run(1, 1, 'a', '2026-03-01T10:00:00Z', '2026-03-01T10:00:00Z', 1, 0, 3, 0, 'hmac-a1');
  copy.run(2, 2, 'a', '2026-03-01T10:00:01Z', '2026-03-01T10:00:01Z', 1, 4, 3, 0, 'hmac-a2');
  copy.run(4, 1, 'b', '2026-03-01T10:00:00.5Z', '2026-03-01T10:00:00.5Z', 2, 0, 3, 1, 'hmac-b1');
  // r3's first copy was pruned; the copy device b logged later is what is left of it.
  copy.run(5, 3, 'b', '2026-03-01T10:00:02.5Z', '2026-03-01T10:00:02.5Z', 2, 4, 3, 1, 'hmac-b3');
  s.prepare("INSERT INTO state (key, value, updated_at) VALUES ('correlate.copies_watermark', ?, 'now')").run(String(watermark));
  await old.close();
  return path;
}

describe('migration 0006: one row per audit line', () => {
  it('keeps every device copy readable through the audit_copies view, first copies in their entries', async () => {
    const handle = await openDatabase(await oldDatabase('done.db', 5));
    try {
      const s = handle.sqlite;
      const copies = s.prepare(`SELECT id, ${COPY} FROM audit_copies ORDER BY id`).all();
      expect(copies).toEqual([
        { id: 1, entry_id: 1, device: 'a', time: '2026-03-01T10:00:00Z', time_key: '2026-03-01T10:00:00Z', batch_id: 1, line_offset: 0, line_length: 3, duplicate: 0, accessor: 'hmac-a1' },
        { id: 2, entry_id: 2, device: 'a', time: '2026-03-01T10:00:01Z', time_key: '2026-03-01T10:00:01Z', batch_id: 1, line_offset: 4, line_length: 3, duplicate: 0, accessor: 'hmac-a2' },
        // Promoted into its entry: the entry keeps its own time.
        { id: 3, entry_id: 3, device: 'b', time: '2026-03-01T10:00:02Z', time_key: '2026-03-01T10:00:02Z', batch_id: 2, line_offset: 4, line_length: 3, duplicate: 0, accessor: 'hmac-b3' },
        // Later copies take ids after every entry.
        { id: 4, entry_id: 1, device: 'b', time: '2026-03-01T10:00:00.5Z', time_key: '2026-03-01T10:00:00.5Z', batch_id: 2, line_offset: 0, line_length: 3, duplicate: 1, accessor: 'hmac-b1' },
      ]);
      expect(s.prepare('SELECT count(*) AS n FROM audit_extra_copies').get()).toEqual({ n: 1 });
      // The correlation had seen every copy: it stays finished.
      expect(s.prepare("SELECT value FROM state WHERE key = 'correlate.copies_watermark'").get()).toEqual({ value: '4' });
    } finally {
      await handle.close();
    }
  });

  it('migrating down gives back a copies table with the same rows', async () => {
    const path = await oldDatabase('down.db', 5);
    const handle = await openDatabase(path);
    try {
      const viewRows = handle.sqlite.prepare(`SELECT id, ${COPY} FROM audit_copies ORDER BY id`).all();
      const result = await new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } }).migrateTo('0005_batch_codec');
      expect(result.error).toBeUndefined();
      const kind = handle.sqlite.prepare("SELECT type FROM sqlite_master WHERE name = 'audit_copies'").get();
      expect(kind).toEqual({ type: 'table' });
      expect(handle.sqlite.prepare(`SELECT id, ${COPY} FROM audit_copies ORDER BY id`).all()).toEqual(viewRows);
    } finally {
      await handle.close();
    }
  });

  it('starts an unfinished correlation over (its old watermark counted copies that were renumbered)', async () => {
    const handle = await openDatabase(await oldDatabase('partial.db', 2));
    try {
      expect(handle.sqlite.prepare("SELECT value FROM state WHERE key = 'correlate.copies_watermark'").get()).toEqual({ value: '0' });
    } finally {
      await handle.close();
    }
  });
});
