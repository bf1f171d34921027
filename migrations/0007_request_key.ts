import { sql, type Kysely } from 'kysely';
import { requestKey } from '../db/request-key.js';

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

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_entries').addColumn('request_key', 'bigint').execute();
  await db.schema.dropIndex('audit_entries_request').execute();
  // Existing entries get their key in pages, by id.
  for (let after = 0; ; ) {
    const rows = (
      await sql<EntryKeyRow>`SELECT id, request_id, type FROM audit_entries
        WHERE id > ${after} AND request_id IS NOT NULL ORDER BY id LIMIT ${PAGE}`.execute(db)
    ).rows;
    if (rows.length === 0) break;
    for (let i = 0; i < rows.length; i += UPDATE_ROWS) {
      const values = rows.slice(i, i + UPDATE_ROWS).map((r) => sql`(${r.id}, ${requestKey(r.request_id, r.type)})`);
      // VALUES columns are column1, column2 in SQLite and PostgreSQL alike.
      await sql`UPDATE audit_entries SET request_key = v.column2 FROM (VALUES ${sql.join(values)}) AS v
        WHERE audit_entries.id = v.column1`.execute(db);
    }
    after = Number(rows[rows.length - 1]!.id);
  }
  await db.schema.createIndex('audit_entries_request_key').on('audit_entries').column('request_key').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_entries_request_key').execute();
  await db.schema.alterTable('audit_entries').dropColumn('request_key').execute();
  await db.schema.createIndex('audit_entries_request').on('audit_entries').columns(['request_id', 'type']).unique().execute();
}
