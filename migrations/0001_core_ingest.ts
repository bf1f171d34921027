import type { Kysely } from 'kysely';
import { autoIncrementKey, binaryType, serialType } from './portable.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const serial = serialType(db);

  await db.schema
    .createTable('state')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('log_raw', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('log_raw_detected_at', 'text')
    .addColumn('first_time_key', 'text')
    .addColumn('last_time_key', 'text')
    .execute();

  await db.schema
    .createTable('audit_files')
    .addColumn('fingerprint', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('offset', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('lines', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('complete', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('ingest_batches')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('file_fingerprint', 'text')
    .addColumn('file_path', 'text')
    .addColumn('start_offset', 'bigint', (c) => c.notNull())
    .addColumn('end_offset', 'bigint', (c) => c.notNull())
    .addColumn('line_count', 'integer', (c) => c.notNull())
    .addColumn('stored_count', 'integer', (c) => c.notNull())
    .addColumn('duplicate_count', 'integer', (c) => c.notNull())
    .addColumn('quarantined_count', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('stored_sha256', 'text', (c) => c.notNull())
    .addColumn('prev_chain_sha256', 'text')
    .addColumn('chain_sha256', 'text', (c) => c.notNull())
    .addColumn('raw_gzip', binaryType(db))
    .addColumn('first_time_key', 'text')
    .addColumn('last_time_key', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ingest_batches_device').on('ingest_batches').columns(['device', 'id']).execute();

  await db.schema
    .createTable('audit_entries')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('request_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('operation', 'text')
    .addColumn('path', 'text')
    .addColumn('namespace_id', 'text')
    .addColumn('namespace_path', 'text')
    .addColumn('mount_point', 'text')
    .addColumn('mount_type', 'text')
    .addColumn('mount_accessor', 'text')
    .addColumn('mount_class', 'text')
    .addColumn('remote_address', 'text')
    .addColumn('remote_port', 'integer')
    .addColumn('display_name', 'text')
    .addColumn('entity_id', 'text')
    .addColumn('token_type', 'text')
    .addColumn('token_ttl', 'bigint')
    .addColumn('token_issue_time', 'text')
    .addColumn('policies', 'text')
    .addColumn('token_policies', 'text')
    .addColumn('metadata', 'text')
    .addColumn('correlation_id', 'text')
    .addColumn('error', 'text')
    .addColumn('response_error', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('issued_display_name', 'text')
    .addColumn('issued_entity_id', 'text')
    .addColumn('issued_token_type', 'text')
    .addColumn('issued_token_ttl', 'bigint')
    .addColumn('issued_policies', 'text')
    .addColumn('issued_metadata', 'text')
    .addColumn('issued_num_uses', 'integer')
    .addColumn('issued_orphan', 'integer')
    .addColumn('lease_id', 'text')
    .addColumn('request_data', 'text')
    .addColumn('warnings', 'text')
    .execute();
  // Dedupe key across devices and HA nodes; `help` entries have no id and are never deduplicated.
  await db.schema
    .createIndex('audit_entries_request')
    .on('audit_entries')
    .columns(['request_id', 'type'])
    .unique()
    .execute();
  await db.schema.createIndex('audit_entries_time').on('audit_entries').column('time_key').execute();

  await db.schema
    .createTable('audit_copies')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('entry_id', 'integer', (c) => c.notNull().references('audit_entries.id'))
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('batch_id', 'integer', (c) => c.notNull().references('ingest_batches.id'))
    .addColumn('line_offset', 'bigint', (c) => c.notNull())
    .addColumn('line_length', 'integer', (c) => c.notNull())
    .addColumn('duplicate', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('accessor', 'text')
    .addColumn('client_token', 'text')
    .addColumn('request_client_token', 'text')
    .addColumn('request_token_accessor', 'text')
    .addColumn('issued_accessor', 'text')
    .addColumn('issued_client_token', 'text')
    .addColumn('data_token', 'text')
    .addColumn('data_accessor', 'text')
    .addColumn('data_lease_id', 'text')
    .execute();
  await db.schema.createIndex('audit_copies_entry').on('audit_copies').column('entry_id').execute();
  await db.schema.createIndex('audit_copies_batch').on('audit_copies').column('batch_id').execute();

  await db.schema
    .createTable('quarantine')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('file_path', 'text')
    .addColumn('file_fingerprint', 'text')
    .addColumn('byte_offset', 'bigint', (c) => c.notNull())
    .addColumn('byte_length', 'bigint', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('excerpt', 'text')
    .addColumn('batch_id', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('server_events')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('lease_id', 'text')
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('file_path', 'text')
    .addColumn('file_fingerprint', 'text')
    .addColumn('byte_offset', 'bigint', (c) => c.notNull())
    .addColumn('batch_id', 'integer')
    .execute();
  await db.schema.createIndex('server_events_lease').on('server_events').column('lease_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['server_events', 'quarantine', 'audit_copies', 'audit_entries', 'ingest_batches', 'audit_files', 'devices', 'state']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
