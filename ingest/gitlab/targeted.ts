/**
 * `--jobs-from-audit`: fetch the GitLab jobs that Vault data names but the database does not hold — jobs of
 * fork pipelines, of projects nobody listed, or older than the backfill.
 *
 * Where job ids come from:
 * - token metadata (`audit_entries.metadata` / `issued_metadata`): the `job_id` claim mapping, addressed with
 *   `GET /projects/:id/jobs/:job_id`. The project tried first is `job_project_id` when present (it always
 *   names the project the job runs in; `project_id` names the fork for fork merge-request pipelines), then
 *   `project_id`;
 * - `audit_entries.correlation_id` values that are decimal job ids. Such an id carries no project, and GitLab
 *   has no project-less job endpoint for an access token, so the projects tried are, in order: the project
 *   claims of the same entry's token metadata, the project the entry's Vault role serves (config `roles`),
 *   then the projects already in the database whose known job ids are nearest to it (job ids are one
 *   instance-wide sequence, so a project active at the time is the likeliest), at most `maxProbes` in all.
 *
 * Each outcome is recorded in `gitlab_job_lookups`: found, not-found (404 everywhere tried) or forbidden
 * (403). Not-found and forbidden jobs are not asked again until `recheckAfterDays` have passed; jobs that
 * failed for a transient reason are asked again on the next run.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema/index.js';
import type { GitlabClient, Json } from './client.js';
import { mapLimit } from './limit.js';
import { jobRow, pipelineRow, projectRow } from './rows.js';
import { allProjectIds, knownProjectIds, recordLookup, storeLookedUpJob, upsertProjects, type LookupStatus } from './store.js';
import { GitlabAuthError, GitlabRequestError, type GitlabLogger } from './transport.js';
import type { SyncSummary } from './sync.js';

export interface TargetedOptions {
  concurrency?: number;
  /** Vault role → project path (config `roles`), used for correlation ids without project claims. */
  roles?: Record<string, string>;
  /** Most projects asked for one job id (default 5). */
  maxProbes?: number;
  /** Days before a not-found or forbidden job is asked again (default 7). */
  recheckAfterDays?: number;
  logger?: GitlabLogger;
  onProgress?: (done: number, total: number) => void;
}

interface Wanted {
  jobId: number;
  origin: 'claim' | 'correlation-id';
  /** Project ids or paths, most likely first. */
  projects: (number | string)[];
}

const DECIMAL = /^\d{1,18}$/;

function parseMetadata(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function claim(meta: Record<string, unknown> | null, key: string): string | undefined {
  const v = meta?.[key];
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  return s && DECIMAL.test(s) ? s : undefined;
}

/** Every job id the Vault data names, with the projects to ask for it. */
export async function jobIdsFromAudit(db: Kysely<Database>, roles: Record<string, string> = {}): Promise<Map<number, Wanted>> {
  const wanted = new Map<number, Wanted>();
  const add = (jobId: number, origin: Wanted['origin'], projects: (number | string | undefined)[]) => {
    const entry = wanted.get(jobId) ?? { jobId, origin, projects: [] };
    if (origin === 'claim') entry.origin = 'claim';
    for (const p of projects) if (p !== undefined && !entry.projects.includes(p)) entry.projects.push(p);
    wanted.set(jobId, entry);
  };
  const projectsOf = (meta: Record<string, unknown> | null): (number | string | undefined)[] => {
    const jobProject = claim(meta, 'job_project_id');
    const project = claim(meta, 'project_id');
    const role = typeof meta?.role === 'string' ? roles[meta.role] : undefined;
    return [jobProject ? Number(jobProject) : undefined, project ? Number(project) : undefined, role];
  };

  // Token metadata repeats on every request of a token: DISTINCT keeps this to about one row per job.
  for (const column of ['metadata', 'issued_metadata'] as const) {
    const rows = await db
      .selectFrom('audit_entries')
      .select(column)
      .distinct()
      .where(column, 'like', '%job_id%')
      .execute();
    for (const row of rows) {
      const meta = parseMetadata(row[column] as string | null);
      const jobId = claim(meta, 'job_id');
      if (jobId) add(Number(jobId), 'claim', projectsOf(meta));
    }
  }
  const correlated = await db
    .selectFrom('audit_entries')
    .select(['correlation_id', 'metadata'])
    .distinct()
    .where('correlation_id', 'is not', null)
    .execute();
  for (const row of correlated) {
    const id = (row.correlation_id ?? '').trim();
    if (!DECIMAL.test(id)) continue;
    add(Number(id), 'correlation-id', projectsOf(parseMetadata(row.metadata)));
  }
  return wanted;
}

/** Drops jobs already stored and jobs recently found missing or forbidden. */
async function stillWanted(db: Kysely<Database>, wanted: Map<number, Wanted>, recheckAfterDays: number): Promise<Wanted[]> {
  const ids = [...wanted.keys()];
  const have = new Set<number>();
  const settled = new Set<number>();
  const recheckBefore = new Date(Date.now() - recheckAfterDays * 86_400_000).toISOString();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    for (const r of await db.selectFrom('gitlab_jobs').select('id').where('id', 'in', chunk).execute()) have.add(Number(r.id));
    const lookups = await db
      .selectFrom('gitlab_job_lookups')
      .select(['job_id', 'status', 'checked_at'])
      .where('job_id', 'in', chunk)
      .execute();
    for (const l of lookups) {
      if ((l.status === 'not-found' || l.status === 'forbidden') && l.checked_at > recheckBefore) settled.add(Number(l.job_id));
    }
  }
  return ids
    .filter((id) => !have.has(id) && !settled.has(id))
    .sort((a, b) => a - b)
    .map((id) => wanted.get(id)!);
}

/** Known projects ordered by how close their stored job ids come to `jobId`. */
async function nearestProjects(db: Kysely<Database>, jobId: number): Promise<number[]> {
  const ranges = await db
    .selectFrom('gitlab_jobs')
    .select(['project_id', sql<number>`min(id)`.as('lo'), sql<number>`max(id)`.as('hi')])
    .groupBy('project_id')
    .execute();
  const distance = new Map<number, number>();
  for (const r of ranges) {
    const lo = Number(r.lo);
    const hi = Number(r.hi);
    distance.set(Number(r.project_id), jobId < lo ? lo - jobId : jobId > hi ? jobId - hi : 0);
  }
  const all = await allProjectIds(db);
  return all.sort((a, b) => (distance.get(a) ?? Infinity) - (distance.get(b) ?? Infinity) || a - b);
}

export async function syncJobsFromAudit(db: Kysely<Database>, client: GitlabClient, options: TargetedOptions = {}): Promise<SyncSummary> {
  const startRequests = client.requests;
  const log = options.logger;
  const maxProbes = options.maxProbes ?? 5;
  const counts = { projects: 0, pipelines: 0, jobs: 0, skipped: 0 };
  const todo = await stillWanted(db, await jobIdsFromAudit(db, options.roles), options.recheckAfterDays ?? 7);
  log?.debug({ jobs: todo.length }, 'GitLab jobs named in Vault data and not stored yet');

  // Paths (from `roles`) resolve to ids once per run; projects fetched once per run.
  const pathIds = new Map<string, Promise<number | undefined>>();
  const projectFetches = new Map<number, Promise<void>>();
  const resolvePath = (path: string) => {
    let p = pathIds.get(path);
    if (!p) {
      p = (async () => {
        const row = await db.selectFrom('gitlab_projects').select('id').where('path_with_namespace', '=', path).executeTakeFirst();
        if (row) return Number(row.id);
        try {
          const project = await client.project(path);
          const r = projectRow(project, new Date().toISOString());
          await upsertProjects(db, [r]);
          counts.projects++;
          return r.id;
        } catch (err) {
          if (err instanceof GitlabAuthError) throw err;
          return undefined;
        }
      })();
      pathIds.set(path, p);
    }
    return p;
  };
  const ensureProject = (projectId: number) => {
    let p = projectFetches.get(projectId);
    if (!p) {
      p = (async () => {
        if ((await knownProjectIds(db, [projectId])).has(projectId)) return;
        try {
          const project = await client.project(projectId);
          await upsertProjects(db, [projectRow(project, new Date().toISOString())]);
          counts.projects++;
        } catch (err) {
          if (err instanceof GitlabAuthError) throw err;
          log?.warn({ project_id: projectId, error: (err as Error).message }, 'project of a looked-up job could not be read');
        }
      })();
      projectFetches.set(projectId, p);
    }
    return p;
  };

  let done = 0;
  let fatal: unknown;
  await mapLimit(todo, options.concurrency ?? 4, async (w) => {
    if (fatal) return;
    try {
      await lookUp(w);
    } catch (err) {
      fatal ??= err;
    } finally {
      options.onProgress?.(++done, todo.length);
    }
  });
  if (fatal) throw fatal;
  return { projects: counts.projects, pipelines: counts.pipelines, jobs: counts.jobs, requests: client.requests - startRequests, skipped: counts.skipped };

  async function candidates(w: Wanted): Promise<number[]> {
    const ids: number[] = [];
    for (const p of w.projects) {
      const id = typeof p === 'number' ? p : await resolvePath(p);
      if (id !== undefined && !ids.includes(id)) ids.push(id);
    }
    if (ids.length === 0) for (const id of await nearestProjects(db, w.jobId)) if (!ids.includes(id)) ids.push(id);
    return ids.slice(0, maxProbes);
  }

  async function lookUp(w: Wanted): Promise<void> {
    const tried: number[] = [];
    let forbidden = false;
    let lastStatus: number | null = null;
    for (const projectId of await candidates(w)) {
      tried.push(projectId);
      let job: Json;
      try {
        job = await client.job(projectId, w.jobId);
      } catch (err) {
        if (err instanceof GitlabAuthError) throw err;
        if (err instanceof GitlabRequestError && (err.status === 404 || err.status === 403)) {
          forbidden ||= err.status === 403;
          lastStatus = err.status;
          continue;
        }
        counts.skipped++;
        log?.warn({ job_id: w.jobId, project_id: projectId, error: (err as Error).message }, 'GitLab job lookup failed; the next run asks again');
        await recordLookup(db, w.jobId, projectId, 'error', err instanceof GitlabRequestError ? err.status : null, w.origin, tried);
        return;
      }
      const at = new Date().toISOString();
      const row = jobRow(job, at, null, projectId);
      await ensureProject(row.project_id);
      const pipeline = job.pipeline && typeof job.pipeline === 'object' ? (job.pipeline as Json) : null;
      const pipelineStored = await storeLookedUpJob(
        db,
        row,
        pipeline && pipeline.project_id !== undefined ? pipelineRow(pipeline, at, false) : null,
        { origin: w.origin, projectsTried: tried },
      );
      counts.jobs++;
      if (pipelineStored) counts.pipelines++;
      return;
    }
    const status: LookupStatus = forbidden ? 'forbidden' : 'not-found';
    log?.debug({ job_id: w.jobId, projects_tried: tried, status }, 'GitLab job not available');
    await recordLookup(db, w.jobId, null, status, lastStatus, w.origin, tried);
  }
}
