import type { Kysely } from 'kysely';

/**
 * A batch's kept bytes may be compressed with another codec than gzip (Brotli since this migration: a third of
 * gzip's CPU on the ingest hot path, and smaller): `raw_gzip` becomes `raw_bytes` with its `raw_codec`.
 * Batches written before keep their gzip bytes and say so.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ingest_batches').renameColumn('raw_gzip', 'raw_bytes').execute();
  await db.schema
    .alterTable('ingest_batches')
    .addColumn('raw_codec', 'text', (c) => c.notNull().defaultTo('gzip'))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('ingest_batches').dropColumn('raw_codec').execute();
  await db.schema.alterTable('ingest_batches').renameColumn('raw_bytes', 'raw_gzip').execute();
}
