import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('gitlab_projects')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('path_with_namespace', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('namespace_full_path', 'text')
    .addColumn('web_url', 'text')
    .addColumn('default_branch', 'text')
    .addColumn('forked_from_project_id', 'bigint')
    .addColumn('raw', 'text', (c) => c.notNull())
    .addColumn('synced_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gitlab_projects_path').on('gitlab_projects').column('path_with_namespace').execute();

  await db.schema
    .createTable('gitlab_project_refs')
    .addColumn('ref', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('gitlab_pipelines')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .addColumn('iid', 'bigint')
    .addColumn('sha', 'text')
    .addColumn('ref', 'text')
    .addColumn('status', 'text')
    .addColumn('source', 'text')
    .addColumn('created_at', 'text')
    .addColumn('updated_at', 'text')
    .addColumn('web_url', 'text')
    .addColumn('raw', 'text', (c) => c.notNull())
    .addColumn('synced_at', 'text', (c) => c.notNull())
    .addColumn('jobs_synced', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('gitlab_pipelines_project').on('gitlab_pipelines').columns(['project_id', 'updated_at']).execute();

  await db.schema
    .createTable('gitlab_jobs')
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .addColumn('pipeline_id', 'bigint', (c) => c.notNull())
    .addColumn('pipeline_source', 'text')
    .addColumn('name', 'text')
    .addColumn('stage', 'text')
    .addColumn('status', 'text')
    .addColumn('ref', 'text')
    .addColumn('tag', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sha', 'text')
    .addColumn('user_id', 'bigint')
    .addColumn('user_login', 'text')
    .addColumn('created_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('duration', 'real')
    .addColumn('web_url', 'text')
    .addColumn('retried', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('runner_id', 'bigint')
    .addColumn('runner_description', 'text')
    .addColumn('runner_ip', 'text')
    .addColumn('raw', 'text', (c) => c.notNull())
    .addColumn('synced_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gitlab_jobs_project_time').on('gitlab_jobs').columns(['project_id', 'started_at']).execute();
  await db.schema.createIndex('gitlab_jobs_pipeline').on('gitlab_jobs').column('pipeline_id').execute();

  await db.schema
    .createTable('gitlab_sync_cursors')
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    .addColumn('listing', 'text', (c) => c.notNull())
    .addColumn('updated_after', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('gitlab_sync_cursors_pk', ['project_id', 'listing'])
    .execute();

  await db.schema
    .createTable('gitlab_job_lookups')
    .addColumn('job_id', 'bigint', (c) => c.primaryKey())
    .addColumn('project_id', 'bigint')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('checked_at', 'text', (c) => c.notNull())
    .addColumn('origin', 'text')
    .addColumn('projects_tried', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['gitlab_job_lookups', 'gitlab_sync_cursors', 'gitlab_jobs', 'gitlab_pipelines', 'gitlab_project_refs', 'gitlab_projects']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
