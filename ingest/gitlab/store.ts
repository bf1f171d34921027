/**
 * Database side of the GitLab sync. Rows and the cursor that covers them are written in one transaction, so
 * a cursor never runs ahead of what is stored; upserts are keyed by GitLab's ids, so re-reading is harmless.
 */
import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, GitlabJobsTable, GitlabPipelinesTable, GitlabProjectsTable } from '../../db/schema/index.js';

type Db = Kysely<Database> | Transaction<Database>;
type UpsertTable = 'gitlab_projects' | 'gitlab_pipelines' | 'gitlab_jobs';

/** Rows per INSERT: keeps the statement under SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 40;

async function upsert<T extends UpsertTable>(db: Db, table: T, rows: Insertable<Database[T]>[], keep: string[] = []): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!).filter((c) => c !== 'id' && !keep.includes(c));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    await db
      .insertInto(table)
      .values(chunk as never)
      .onConflict((oc) =>
        oc.column('id' as never).doUpdateSet((eb) => Object.fromEntries(columns.map((c) => [c, eb.ref(`excluded.${c}` as never)])) as never),
      )
      .execute();
  }
}

export async function upsertProjects(db: Db, rows: Insertable<GitlabProjectsTable>[]): Promise<void> {
  await upsert(db, 'gitlab_projects', rows);
}

export async function knownProjectIds(db: Db, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('gitlab_projects').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => Number(r.id)));
}

export async function allProjectIds(db: Db): Promise<number[]> {
  const rows = await db.selectFrom('gitlab_projects').select('id').orderBy('id').execute();
  return rows.map((r) => Number(r.id));
}

/** A `--project` reference resolved before (`group/app` → 42). */
export async function resolvedRef(db: Db, ref: string): Promise<number | undefined> {
  const row = await db.selectFrom('gitlab_project_refs').select('project_id').where('ref', '=', ref).executeTakeFirst();
  return row ? Number(row.project_id) : undefined;
}

export async function rememberRef(db: Db, ref: string, projectId: number): Promise<void> {
  await db
    .insertInto('gitlab_project_refs')
    .values({ ref, project_id: projectId })
    .onConflict((oc) => oc.column('ref').doUpdateSet({ project_id: projectId }))
    .execute();
}

export type Listing = 'plain' | 'parent_pipeline';

/** The highest `updated_at` committed for one pipeline listing of a project. */
export async function readCursor(db: Db, projectId: number, listing: Listing): Promise<string | undefined> {
  const row = await db
    .selectFrom('gitlab_sync_cursors')
    .select('updated_after')
    .where('project_id', '=', projectId)
    .where('listing', '=', listing)
    .executeTakeFirst();
  return row?.updated_after;
}

async function writeCursor(db: Db, projectId: number, listing: Listing, value: string): Promise<void> {
  const now = new Date().toISOString();
  const current = await readCursor(db, projectId, listing);
  if (current !== undefined && current >= value) return;
  await db
    .insertInto('gitlab_sync_cursors')
    .values({ project_id: projectId, listing, updated_after: value, updated_at: now })
    .onConflict((oc) => oc.columns(['project_id', 'listing']).doUpdateSet({ updated_after: value, updated_at: now }))
    .execute();
}

/** What is stored of these pipelines: their `updated_at` and whether their jobs were synced at it. */
export async function pipelineStates(db: Db, ids: number[]): Promise<Map<number, { updated_at: string | null; jobs_synced: number }>> {
  const out = new Map<number, { updated_at: string | null; jobs_synced: number }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('gitlab_pipelines')
      .select(['id', 'updated_at', 'jobs_synced'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(Number(r.id), { updated_at: r.updated_at, jobs_synced: Number(r.jobs_synced) });
  }
  return out;
}

export interface PageCommit {
  projectId: number;
  listing: Listing;
  pipelines: Insertable<GitlabPipelinesTable>[];
  jobs: Insertable<GitlabJobsTable>[];
  /** New cursor value, when this page lets it advance. */
  cursor?: string;
}

/** One listing page: its pipelines, their jobs and the cursor, all or nothing. */
export async function commitPage(db: Kysely<Database>, page: PageCommit): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await upsert(trx, 'gitlab_pipelines', page.pipelines);
    await upsert(trx, 'gitlab_jobs', page.jobs);
    if (page.cursor !== undefined) await writeCursor(trx, page.projectId, page.listing, page.cursor);
  });
}

/** A job found by a targeted lookup, with its pipeline when not stored yet (jobs_synced stays 0). */
export async function storeLookedUpJob(
  db: Kysely<Database>,
  job: Insertable<GitlabJobsTable>,
  pipeline: Insertable<GitlabPipelinesTable> | null,
  lookup: { origin: string; projectsTried: number[] },
): Promise<boolean> {
  let pipelineStored = false;
  await db.transaction().execute(async (trx) => {
    if (pipeline) {
      const r = await trx.insertInto('gitlab_pipelines').values(pipeline).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
      pipelineStored = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
    }
    // A job the incremental sync already stored keeps its retried flag.
    await upsert(trx, 'gitlab_jobs', [job], ['retried']);
    await recordLookup(trx, Number(job.id), Number(job.project_id), 'found', 200, lookup.origin, lookup.projectsTried);
  });
  return pipelineStored;
}

export type LookupStatus = 'found' | 'not-found' | 'forbidden' | 'error';

export async function recordLookup(
  db: Db,
  jobId: number,
  projectId: number | null,
  status: LookupStatus,
  httpStatus: number | null,
  origin: string,
  projectsTried: number[],
): Promise<void> {
  const checked_at = new Date().toISOString();
  const tried = JSON.stringify(projectsTried);
  const existing = await db.selectFrom('gitlab_job_lookups').select('attempts').where('job_id', '=', jobId).executeTakeFirst();
  if (existing) {
    await db
      .updateTable('gitlab_job_lookups')
      .set({ project_id: projectId, status, http_status: httpStatus, checked_at, origin, projects_tried: tried, attempts: Number(existing.attempts) + 1 })
      .where('job_id', '=', jobId)
      .execute();
  } else {
    await db
      .insertInto('gitlab_job_lookups')
      .values({ job_id: jobId, project_id: projectId, status, http_status: httpStatus, checked_at, origin, projects_tried: tried, attempts: 1 })
      .execute();
  }
}
