import type { Kysely } from 'kysely';
import { autoIncrementKey, serialType } from './portable.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The correlator notices new GitLab data by (count, latest synced_at) of these tables on every run: indexes
  // keep that cheap (MAX by index, COUNT over the narrow index) whatever the size of the raw JSON rows.
  await db.schema.createIndex('gitlab_jobs_synced').on('gitlab_jobs').column('synced_at').execute();
  await db.schema.createIndex('gitlab_pipelines_synced').on('gitlab_pipelines').column('synced_at').execute();
  await db.schema.createIndex('gitlab_projects_synced').on('gitlab_projects').column('synced_at').execute();
  await db.schema.createIndex('gitlab_job_lookups_checked').on('gitlab_job_lookups').column('checked_at').execute();

  await db.schema
    .createTable('accesses')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('devices', 'text', (c) => c.notNull())
    .addColumn('operation', 'text')
    .addColumn('path', 'text')
    .addColumn('namespace', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('mount_type', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('remote_address', 'text')
    .addColumn('display_name', 'text')
    .addColumn('entity_id', 'text')
    .addColumn('auth_mount', 'text')
    .addColumn('role', 'text')
    .addColumn('token_accessor', 'text')
    .addColumn('token_id', 'integer')
    .addColumn('lease_id', 'text')
    .addColumn('job_id', 'bigint')
    .addColumn('pipeline_id', 'bigint')
    .addColumn('project_id', 'bigint')
    .addColumn('project_path', 'text')
    .addColumn('user_login', 'text')
    .addColumn('ref', 'text')
    .addColumn('attribution', 'text', (c) => c.notNull())
    .addColumn('verified', 'text')
    .addColumn('verify_detail', 'text')
    .addColumn('pairing', 'text', (c) => c.notNull())
    .addColumn('request_entry_id', 'integer')
    .addColumn('response_entry_id', 'integer')
    .addColumn('is_secret_access', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('accesses_time').on('accesses').columns(['time_key', 'request_id']).execute();
  // (filter column, time_key, request_id) so `--project P --from --to --limit N` reads N index entries in order.
  await db.schema.createIndex('accesses_project_time').on('accesses').columns(['project_id', 'time_key', 'request_id']).execute();
  await db.schema.createIndex('accesses_project_path_time').on('accesses').columns(['project_path', 'time_key', 'request_id']).execute();
  await db.schema.createIndex('accesses_user_time').on('accesses').columns(['user_login', 'time_key', 'request_id']).execute();
  await db.schema.createIndex('accesses_path').on('accesses').columns(['path', 'time_key']).execute();
  await db.schema.createIndex('accesses_pipeline').on('accesses').column('pipeline_id').execute();
  // Pending verification is re-evaluated when GitLab data arrives.
  await db.schema.createIndex('accesses_verified').on('accesses').column('verified').execute();
  await db.schema.createIndex('accesses_job').on('accesses').column('job_id').execute();
  await db.schema.createIndex('accesses_token').on('accesses').column('token_id').execute();

  await db.schema
    .createTable('tokens')
    .addColumn('id', serialType(db), autoIncrementKey(db))
    .addColumn('issue_request_id', 'text')
    .addColumn('issued_at', 'text')
    .addColumn('issued_time_key', 'text')
    .addColumn('accessor', 'text')
    .addColumn('token_type', 'text')
    .addColumn('auth_mount', 'text')
    .addColumn('role', 'text')
    .addColumn('display_name', 'text')
    .addColumn('entity_id', 'text')
    .addColumn('policies', 'text')
    .addColumn('metadata', 'text')
    .addColumn('ttl_seconds', 'bigint')
    .addColumn('orphan', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('parent_token_id', 'integer')
    .addColumn('job_id', 'bigint')
    .addColumn('pipeline_id', 'bigint')
    .addColumn('project_id', 'bigint')
    .addColumn('user_login', 'text')
    .addColumn('ref', 'text')
    .addColumn('attribution', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('attribution_evidence', 'text')
    .addColumn('verified', 'text')
    .addColumn('verify_detail', 'text')
    .addColumn('remote_addresses', 'text')
    .addColumn('request_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_time_key', 'text')
    .addColumn('last_renewed_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('revoke_kind', 'text')
    .addColumn('revoke_request_id', 'text')
    .addColumn('issued_remote_address', 'text')
    .addColumn('project_path', 'text')
    .addColumn('ends_at', 'text')
    .addColumn('end_inferred', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('job_finished_at', 'text')
    .addColumn('outlived_job', 'integer')
    .execute();
  await db.schema.createIndex('tokens_job').on('tokens').column('job_id').execute();
  await db.schema.createIndex('tokens_issue_request').on('tokens').column('issue_request_id').execute();
  await db.schema.createIndex('tokens_parent').on('tokens').column('parent_token_id').execute();
  await db.schema.createIndex('tokens_issued').on('tokens').column('issued_time_key').execute();

  await db.schema
    .createTable('token_hmacs')
    .addColumn('device', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('hmac', 'text', (c) => c.notNull())
    .addColumn('token_id', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_hmacs_pk', ['device', 'kind', 'hmac'])
    .execute();
  await db.schema.createIndex('token_hmacs_token').on('token_hmacs').column('token_id').execute();

  await db.schema
    .createTable('leases')
    .addColumn('lease_id', 'text', (c) => c.primaryKey())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('issued_time_key', 'text', (c) => c.notNull())
    .addColumn('issue_request_id', 'text', (c) => c.notNull())
    .addColumn('token_id', 'integer')
    .addColumn('mount_type', 'text')
    .addColumn('job_id', 'bigint')
    .addColumn('pipeline_id', 'bigint')
    .addColumn('project_id', 'bigint')
    .addColumn('project_path', 'text')
    .addColumn('user_login', 'text')
    .addColumn('renew_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_renewed_at', 'text')
    .addColumn('ttl_seconds', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'text')
    .addColumn('end_kind', 'text')
    .addColumn('end_request_id', 'text')
    .addColumn('end_inferred', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('job_finished_at', 'text')
    .addColumn('outlived_job', 'integer')
    .execute();
  await db.schema.createIndex('leases_token').on('leases').column('token_id').execute();
  await db.schema.createIndex('leases_job').on('leases').column('job_id').execute();
  await db.schema.createIndex('leases_issued').on('leases').column('issued_time_key').execute();
  await db.schema.createIndex('leases_issue_request').on('leases').column('issue_request_id').execute();

  await db.schema
    .createTable('lifecycle_events')
    .addColumn('id', serialType(db), autoIncrementKey(db))
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('time_key', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('lease_id', 'text')
    .addColumn('token_id', 'integer')
    .addColumn('device', 'text')
    .addColumn('hmac_kind', 'text')
    .addColumn('hmac', 'text')
    .addColumn('ttl_seconds', 'bigint')
    .execute();
  // A request's events are rewritten from all its copies whenever a copy arrives: re-running never adds twice.
  await db.schema.createIndex('lifecycle_events_source').on('lifecycle_events').column('source_id').execute();
  await db.schema.createIndex('lifecycle_events_lease').on('lifecycle_events').columns(['lease_id', 'kind']).execute();
  await db.schema.createIndex('lifecycle_events_token').on('lifecycle_events').columns(['token_id', 'kind']).execute();
  await db.schema.createIndex('lifecycle_events_kind').on('lifecycle_events').columns(['kind', 'token_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of ['gitlab_jobs_synced', 'gitlab_pipelines_synced', 'gitlab_projects_synced', 'gitlab_job_lookups_checked']) {
    await db.schema.dropIndex(index).ifExists().execute();
  }
  for (const table of ['lifecycle_events', 'leases', 'token_hmacs', 'tokens', 'accesses']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
