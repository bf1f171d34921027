import { sql, type Kysely } from 'kysely';

/**
 * One row per audit line. The first device's copy of an entry (its device, line position and HMACs; its time
 * is the entry's) moves into `audit_entries`; the copies other devices logged later live in
 * `audit_extra_copies`. Both draw their ids from one sequence, one id per stored line in ingest order, so an
 * entry's id is its first copy's id. `audit_copies` becomes a view over both, with the columns and ids
 * readers used before. Ingest wrote two rows a line, the copy's row mostly repeating what the entry held.
 */
const HMAC_COLUMNS = [
  'accessor', 'client_token', 'request_client_token', 'request_token_accessor', 'issued_accessor',
  'issued_client_token', 'data_token', 'data_accessor', 'data_lease_id',
] as const;
const COPY_COLUMNS = ['device', 'batch_id', 'line_offset', 'line_length', ...HMAC_COLUMNS] as const;
const STATE_COPIES = 'correlate.copies_watermark';

const AUDIT_COPIES_VIEW = sql`CREATE VIEW audit_copies AS
  SELECT id, id AS entry_id, device, time, time_key, batch_id, line_offset, line_length, 0 AS duplicate,
    ${sql.raw(HMAC_COLUMNS.join(', '))}
  FROM audit_entries
  UNION ALL
  SELECT id, entry_id, device, time, time_key, batch_id, line_offset, line_length, 1 AS duplicate,
    ${sql.raw(HMAC_COLUMNS.join(', '))}
  FROM audit_extra_copies`;

/** A table of device copies: who logged the line, where it is, (whether it was a duplicate,) its HMACs. */
function copyTable(db: Kysely<unknown>, name: string, withDuplicateFlag: boolean) {
  let table = db.schema
    .createTable(name)
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('entry_id', 'integer', (c) => c.notNull().references('audit_entries.id'))
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('batch_id', 'integer', (c) => c.notNull().references('ingest_batches.id'))
    .addColumn('line_offset', 'bigint', (c) => c.notNull())
    .addColumn('line_length', 'integer', (c) => c.notNull());
  if (withDuplicateFlag) table = table.addColumn('duplicate', 'integer', (c) => c.notNull().defaultTo(0));
  return HMAC_COLUMNS.reduce((acc, c) => acc.addColumn(c, 'text'), table);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  // Nullable: SQLite adds columns to an existing table only without NOT NULL or with a default. Ingest always
  // sets them.
  await db.schema.alterTable('audit_entries').addColumn('device', 'text').execute();
  await db.schema.alterTable('audit_entries').addColumn('batch_id', 'integer').execute();
  await db.schema.alterTable('audit_entries').addColumn('line_offset', 'bigint').execute();
  await db.schema.alterTable('audit_entries').addColumn('line_length', 'integer').execute();
  for (const c of HMAC_COLUMNS) await db.schema.alterTable('audit_entries').addColumn(c, 'text').execute();

  // Ids are given by ingest (the shared sequence), not generated.
  await copyTable(db, 'audit_extra_copies', false).execute();
  await db.schema.createIndex('audit_extra_copies_entry').on('audit_extra_copies').column('entry_id').execute();
  await db.schema.createIndex('audit_extra_copies_batch').on('audit_extra_copies').column('batch_id').execute();

  // The first copy of each entry (the one that stored it; after a prune, the earliest one left) moves into
  // the entry row.
  const cols = sql.raw(COPY_COLUMNS.join(', '));
  const copyCols = sql.raw(COPY_COLUMNS.map((c) => `c.${c}`).join(', '));
  const firstCopyOf = (entry: string) => sql.raw(`(SELECT f.id FROM audit_copies f WHERE f.entry_id = ${entry} ORDER BY f.duplicate, f.id LIMIT 1)`);
  await sql`UPDATE audit_entries SET (${cols}) = (
    SELECT ${copyCols} FROM audit_copies c WHERE c.id = ${firstCopyOf('audit_entries.id')})`.execute(db);
  // Later copies take ids after every entry, in their old order.
  await sql`INSERT INTO audit_extra_copies (id, entry_id, time, time_key, ${cols})
    SELECT (SELECT coalesce(max(id), 0) FROM audit_entries) + row_number() OVER (ORDER BY c.id), c.entry_id, c.time, c.time_key, ${copyCols}
    FROM audit_copies c WHERE c.id <> ${firstCopyOf('c.entry_id')}`.execute(db);
  // The correlator's watermark counted old copy ids: a finished correlation stays finished, anything else
  // starts over (correlating again is idempotent).
  await sql`UPDATE state SET value = CASE
      WHEN CAST(value AS INTEGER) >= (SELECT coalesce(max(id), 0) FROM audit_copies)
      THEN CAST((SELECT coalesce(max(id), 0) FROM (SELECT id FROM audit_entries UNION ALL SELECT id FROM audit_extra_copies) ids) AS TEXT)
      ELSE '0' END
    WHERE key = ${STATE_COPIES}`.execute(db);
  await db.schema.dropTable('audit_copies').execute();
  await AUDIT_COPIES_VIEW.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropView('audit_copies').execute();
  await copyTable(db, 'audit_copies', true).execute();
  const all = sql.raw(['id', 'entry_id', 'time', 'time_key', 'duplicate', ...COPY_COLUMNS].join(', '));
  await sql`INSERT INTO audit_copies (${all})
    SELECT id, id, time, time_key, 0, ${sql.raw(COPY_COLUMNS.join(', '))} FROM audit_entries
    UNION ALL SELECT id, entry_id, time, time_key, 1, ${sql.raw(COPY_COLUMNS.join(', '))} FROM audit_extra_copies`.execute(db);
  await db.schema.createIndex('audit_copies_entry').on('audit_copies').column('entry_id').execute();
  await db.schema.createIndex('audit_copies_batch').on('audit_copies').column('batch_id').execute();
  await db.schema.dropTable('audit_extra_copies').execute();
  for (const c of [...COPY_COLUMNS].reverse()) await db.schema.alterTable('audit_entries').dropColumn(c).execute();
}
