import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, requestKey, requestKeys, type Database } from '../db/index.js';
import { asciiRequestKey } from '../db/request-key.js';
import { migrations } from '../migrations/index.js';
import { ViewLoader } from '../correlate/view.js';
import { explainRequest } from '../correlate/explain.js';
import { tempDir } from './helpers/cli.js';
import { ingestVault, lines, query, writeLines } from './fixtures/ingest/util.js';

const tmp = tempDir('keytrail-request-key-');
afterAll(() => tmp.cleanup());

const migrator = (db: Kysely<Database>) => new Migrator({ db, provider: { getMigrations: async () => migrations } });

describe('request key: the integer that finds an entry by request id and type', () => {
  it('keeps the values already stored in databases (the function must never change)', () => {
    expect(requestKey('02d29de3-0b57-4ef9-a9c8-87cedbf835c8', 'request')).toBe(167984864294);
    expect(requestKey('02d29de3-0b57-4ef9-a9c8-87cedbf835c8', 'response')).toBe(167984864295);
    expect(requestKey('a', 'request')).toBe(61943441272882);
    expect(requestKeys('a')).toEqual([61943441272882, 61943441272883]);
  });

  it('is the same key read from an ASCII id\'s bytes as from its string', () => {
    const ids = ['02d29de3-0b57-4ef9-a9c8-87cedbf835c8', 'a', '', 'req-~!"#', ...Array.from({ length: 200 }, () => randomUUID())];
    for (const id of ids) {
      const bytes = Buffer.from(`xx${id}yy`, 'latin1');
      for (const type of ['request', 'response']) expect(asciiRequestKey(bytes, 2, 2 + id.length, type)).toBe(requestKey(id, type));
    }
  });

  it('is a 47-bit integer, even for a request and odd for a response, and spreads UUIDs without repeats', () => {
    const seen = new Set<number>();
    const odd: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const id = randomUUID();
      const [req, resp] = requestKeys(id);
      const fits = Number.isSafeInteger(req) && req >= 0 && resp < 2 ** 47 && req % 2 === 0 && resp === req + 1;
      if (!fits || requestKey(id, 'request') !== req || requestKey(id, 'response') !== resp) odd.push(id);
      seen.add(req);
    }
    expect(odd).toEqual([]);
    expect(seen.size).toBe(50_000);
  });
});

describe('migration 0007: entries get their request key', () => {
  it('keys every existing entry (in pages), leaves entries without a request id unkeyed, and migrates down', async () => {
    const handle = await openDatabase(join(tmp.dir, 'old.db'), { migrate: false });
    try {
      expect((await migrator(handle.db).migrateTo('0006_one_row_per_line')).error).toBeUndefined();
      const s = handle.sqlite;
      // 12,001 entries: more than two of the migration's pages.
      s.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
        INSERT INTO audit_entries (id, request_id, type, time, time_key)
        SELECT 2 * i - 1, 'req-' || i, 'request', 't', 't' FROM n UNION ALL SELECT 2 * i, 'req-' || i, 'response', 't', 't' FROM n`);
      s.exec("INSERT INTO audit_entries (id, request_id, type, time, time_key) VALUES (12001, NULL, 'request', 't', 't')");
      expect((await migrator(handle.db).migrateTo('0007_request_key')).error).toBeUndefined();

      const rows = s.prepare('SELECT request_id, type, request_key FROM audit_entries ORDER BY id').all() as { request_id: string | null; type: string; request_key: number | null }[];
      expect(rows).toHaveLength(12_001);
      for (const r of rows) expect(r.request_key).toBe(r.request_id === null ? null : requestKey(r.request_id, r.type));
      const indexes = (s.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      expect(indexes).toEqual(['audit_entries_request_key', 'audit_entries_time']);

      expect((await migrator(handle.db).migrateTo('0006_one_row_per_line')).error).toBeUndefined();
      const unique = s.prepare("SELECT sql FROM sqlite_master WHERE name = 'audit_entries_request'").get() as { sql: string };
      expect(unique.sql).toMatch(/UNIQUE INDEX/);
      expect(s.prepare("SELECT count(*) AS n FROM pragma_table_info('audit_entries') WHERE name = 'request_key'").get()).toEqual({ n: 0 });
    } finally {
      await handle.close();
    }
  });
});

describe('migration 0007 stopped half-way (SQLite runs it outside a transaction)', () => {
  it('runs again from the start and finishes: column, keys and index', async () => {
    const path = join(tmp.dir, 'half.db');
    const handle = await openDatabase(path, { migrate: false });
    try {
      expect((await migrator(handle.db).migrateTo('0006_one_row_per_line')).error).toBeUndefined();
      const s = handle.sqlite;
      s.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
        INSERT INTO audit_entries (id, request_id, type, time, time_key) SELECT i, 'req-' || i, 'response', 't', 't' FROM n`);
      // What an interrupted run left: the column, no unique index, a third of the keys, no key index.
      s.exec('ALTER TABLE audit_entries ADD COLUMN request_key bigint');
      s.exec('DROP INDEX audit_entries_request');
      const key = s.prepare('UPDATE audit_entries SET request_key = ? WHERE id = ?');
      for (let id = 1; id <= 1000; id++) key.run(requestKey(`req-${id}`, 'response'), id);
    } finally {
      await handle.close();
    }
    const resumed = await openDatabase(path);
    try {
      const s = resumed.sqlite;
      const rows = s.prepare('SELECT request_id, request_key FROM audit_entries ORDER BY id').all() as { request_id: string; request_key: number }[];
      expect(rows.filter((r) => r.request_key !== requestKey(r.request_id, 'response'))).toEqual([]);
      expect(s.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' ORDER BY name").all()).toEqual([
        { name: 'audit_entries_request_key' },
        { name: 'audit_entries_time' },
      ]);
    } finally {
      await resumed.close();
    }
  });
});

describe('opening a database that needs migrations', () => {
  it('tells the caller which migrations an existing database is about to get, and says nothing for a new one', async () => {
    const path = join(tmp.dir, 'upgrade.db');
    const told: string[][] = [];
    const fresh = await openDatabase(path, { onMigrate: (pending) => told.push(pending) });
    expect((await migrator(fresh.db).migrateTo('0006_one_row_per_line')).error).toBeUndefined();
    await fresh.close();
    expect(told).toEqual([]);
    const upgraded = await openDatabase(path, { onMigrate: (pending) => told.push(pending) });
    await upgraded.close();
    expect(told).toEqual([['0007_request_key']]);
  });
});

describe('ingest, correlator and explain when two request ids share a request key', () => {
  it('stores the second request as its own entry and finds each request by its own id', async () => {
    const dir = join(tmp.dir, 'collide');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    const db = join(dir, 'k.db');
    const a = lines({ lines: 2, seed: 21, salt: 'salt-a' });
    const b = lines({ lines: 2, seed: 22, salt: 'salt-b' });
    const idOf = (line: string) => (JSON.parse(line) as { request: { id: string } }).request.id;
    const [first, second] = [idOf(a[0]!), idOf(b[0]!)];
    expect(first).not.toBe(second);
    writeLines(join(dir, 'a', 'a.log'), a);
    writeLines(join(dir, 'b', 'b.log'), b);
    expect(await ingestVault(db, [join(dir, 'a')])).toMatchObject({ stored: 2, duplicates: 0 });

    // Make the stored entries of `first` collide with `second`'s keys (46 bits make a real collision rare).
    const handle = await openDatabase(db);
    try {
      const [req, resp] = requestKeys(second);
      handle.sqlite.prepare("UPDATE audit_entries SET request_key = CASE type WHEN 'request' THEN ? ELSE ? END WHERE request_id = ?").run(req, resp, first);
    } finally {
      await handle.close();
    }
    // A key probe that found `first` and took it for `second` would count `second` as a duplicate.
    expect(await ingestVault(db, [join(dir, 'b')])).toMatchObject({ stored: 2, duplicates: 0 });
    expect(query(db, 'SELECT request_id, type FROM audit_entries ORDER BY id')).toEqual([
      { request_id: first, type: 'request' },
      { request_id: first, type: 'response' },
      { request_id: second, type: 'request' },
      { request_id: second, type: 'response' },
    ]);

    // The correlator's bulk loader and explain find `second`'s own entries under the shared keys.
    const check = await openDatabase(db);
    try {
      const view = new ViewLoader(check.sqlite).load([second]).get(second)!;
      expect([view.req?.request_id, view.req?.type, view.resp?.request_id, view.resp?.type]).toEqual([second, 'request', second, 'response']);
      const explained = await explainRequest(check, second);
      expect(explained?.raw.map((r) => [r.type, r.line?.includes(second)])).toEqual([
        ['request', true],
        ['response', true],
      ]);
    } finally {
      await check.close();
    }
  });
});
