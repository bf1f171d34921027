import type { Kysely } from 'kysely';
import { autoIncrementKey, serialType } from './portable.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const serial = serialType(db);
  await db.schema
    .createTable('findings')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('request_ids', 'text', (c) => c.notNull())
    .addColumn('job_id', 'bigint')
    .addColumn('project_id', 'bigint')
    .addColumn('user_login', 'text')
    .addColumn('path', 'text')
    .addColumn('lease_id', 'text')
    .addColumn('mute_reason', 'text')
    .addColumn('mute_owner', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('findings_rule_subject', ['rule', 'subject'])
    .execute();

  await db.schema
    .createTable('finding_events')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('finding_id', 'integer', (c) => c.notNull().references('findings.id'))
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('finding_triage')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('finding_id', 'integer', (c) => c.notNull().references('findings.id'))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('alert_deliveries')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('event_id', 'integer', (c) => c.notNull().references('finding_events.id'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'text')
    .addUniqueConstraint('alert_deliveries_event_channel', ['event_id', 'channel'])
    .execute();

  await db.schema
    .createTable('packs')
    .addColumn('id', serial, autoIncrementKey(db))
    .addColumn('period_from', 'text', (c) => c.notNull())
    .addColumn('period_to', 'text', (c) => c.notNull())
    .addColumn('out_dir', 'text', (c) => c.notNull())
    .addColumn('manifest_sha256', 'text', (c) => c.notNull())
    .addColumn('data_sha256', 'text', (c) => c.notNull())
    .addColumn('generated_at', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['packs', 'alert_deliveries', 'finding_triage', 'finding_events', 'findings']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
