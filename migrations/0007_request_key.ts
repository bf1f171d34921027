import { sql, type Kysely } from 'kysely';
import { requestKey } from '../db/request-key.js';
import { bigintValue } from './portable.js';

/**
 * Entries are found by an integer `request_key` (db/request-key.ts: a hash of request id and type) instead of
 * the unique (request_id, type) text index. Ingest inserts into that index at random places (request ids are
 * UUIDs); the integer index is a third of the size, so it stays cached and each group commit rewrites fewer
 * pages. The key is not unique (two ids may hash alike): ingest keeps an entry unique itself, by probing the
 * key and comparing request id and type inside its write transaction.
 */
const PAGE = 5000;
const UPDATE_ROWS = 400;

interface EntryKeyRow {
  id: number;
  request_id: string;
  type: string;
}

/**
 * Resumable: Kysely runs SQLite migrations outside a transaction (it reports no transactional DDL for SQLite),
 * so each statement commits on its own, and a migration stopped half-way (Ctrl-C during the minutes a large
 * database takes) runs again from the start. Every step skips what is already done.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const table = (await db.introspection.getTables()).find((t) => t.name === 'audit_entries');
  if (!table?.columns.some((c) => c.name === 'request_key')) {
    await db.schema.alterTable('audit_entries').addColumn('request_key', 'bigint').execute();
  }
  await db.schema.dropIndex('audit_entries_request').ifExists().execute();
  // Existing entries get their key in pages, by id; entries keyed by an interrupted run are skipped.
  for (let after = 0; ; ) {
    const rows = (
      await sql<EntryKeyRow>`SELECT id, request_id, type FROM audit_entries
        WHERE id > ${after} AND request_id IS NOT NULL AND request_key IS NULL ORDER BY id LIMIT ${PAGE}`.execute(db)
    ).rows;
    if (rows.length === 0) break;
    for (let i = 0; i < rows.length; i += UPDATE_ROWS) {
      // VALUES columns are column1, column2 in SQLite and PostgreSQL alike.
      const values = rows.slice(i, i + UPDATE_ROWS).map((r) => sql`(${bigintValue(db, Number(r.id))}, ${bigintValue(db, requestKey(r.request_id, r.type))})`);
      await sql`UPDATE audit_entries SET request_key = v.column2 FROM (VALUES ${sql.join(values)}) AS v
        WHERE audit_entries.id = v.column1`.execute(db);
    }
    after = Number(rows[rows.length - 1]!.id);
  }
  await db.schema.createIndex('audit_entries_request_key').ifNotExists().on('audit_entries').column('request_key').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_entries_request_key').execute();
  await db.schema.alterTable('audit_entries').dropColumn('request_key').execute();
  await db.schema.createIndex('audit_entries_request').on('audit_entries').columns(['request_id', 'type']).unique().execute();
}
