/**
 * Incremental project sync: projects → pipelines (two listings per project: plain, and
 * `source=parent_pipeline` for child pipelines, which the plain listing leaves out) → jobs of every new or
 * changed pipeline, retried ones included.
 *
 * Listing. Pipelines are read ordered by `updated_at` ascending from the saved cursor minus an overlap window
 * (rows that commit late in GitLab still get seen). Instead of offset pages, each next request moves
 * `updated_after` to just before the last row seen: offsets shift when a pipeline is updated while we read
 * (it jumps to the end and the row after it slides onto the page already read), seeking by `updated_at`
 * does not. Rows seen twice are recognised by (id, updated_at). Only when more than a page of pipelines share
 * one millisecond does it fall back to page numbers.
 *
 * Commit. Each listing page is committed with its pipelines' jobs and the cursor in one transaction. A
 * pipeline whose jobs could not be fetched is not stored and the cursor stays below it, so the next run asks
 * again; the listing stops there and the failure counts as skipped. Other projects carry on.
 */
import type { Insertable, Kysely } from 'kysely';
import type { Database, GitlabJobsTable, GitlabPipelinesTable } from '../../db/schema/index.js';
import { GitlabAuthError, GitlabRequestError, type GitlabLogger } from './transport.js';
import type { GitlabClient, Json } from './client.js';
import { mapLimit } from './limit.js';
import { jobRow, pipelineRow, projectRow, requireInt, retriedJobIds, utc } from './rows.js';
import {
  commitPage,
  knownProjectIds,
  pipelineStates,
  readCursor,
  rememberRef,
  resolvedRef,
  upsertProjects,
  type Listing,
} from './store.js';

export interface SyncProgress {
  projectsDone: number;
  projectsTotal: number;
  pipelines: number;
  jobs: number;
  requests: number;
}

export interface SyncOptions {
  /** `--project` values: numeric ids or full paths. */
  projects?: (string | number)[];
  /** `--group PATH [--include-subgroups]`. */
  group?: { path: string; includeSubgroups: boolean };
  /** Several groups (config `gitlab.groups` for `run`); combined with `group` and `projects`. */
  groups?: { path: string; includeSubgroups: boolean }[];
  /** Bounds the first backfill (a UTC day `YYYY-MM-DD` or an ISO time). */
  since?: string;
  /** Projects synced at once; requests in flight are bounded by the client (default 4). */
  concurrency?: number;
  /** How far before the cursor each run starts again (default 900 s). */
  overlapSeconds?: number;
  /** Page size (default 100, GitLab's maximum). */
  perPage?: number;
  logger?: GitlabLogger;
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncSummary {
  projects: number;
  pipelines: number;
  jobs: number;
  requests: number;
  skipped: number;
}

export const DEFAULT_OVERLAP_SECONDS = 900;

export function sinceToIso(since: string): string {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(since) ? `${since}T00:00:00.000Z` : since;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`invalid --since value ${since}`);
  return new Date(t).toISOString();
}

/** Errors that end the whole run rather than one project's listing. */
function isFatal(err: unknown): boolean {
  return err instanceof GitlabAuthError;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class Counters {
  projects = 0;
  pipelines = 0;
  jobs = 0;
  skipped = 0;
}

export async function syncGitlab(db: Kysely<Database>, client: GitlabClient, options: SyncOptions): Promise<SyncSummary> {
  const startRequests = client.requests;
  const concurrency = options.concurrency ?? 4;
  const perPage = options.perPage ?? 100;
  const overlapMs = (options.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000;
  const since = options.since ? sinceToIso(options.since) : undefined;
  const log = options.logger;
  const counts = new Counters();
  const syncedAt = () => new Date().toISOString();

  const projectIds = await resolveProjects();
  let done = 0;
  const progress = () =>
    options.onProgress?.({ projectsDone: done, projectsTotal: projectIds.length, pipelines: counts.pipelines, jobs: counts.jobs, requests: client.requests - startRequests });
  progress();

  let fatal: unknown;
  await mapLimit(projectIds, concurrency, async (projectId) => {
    if (fatal) return;
    try {
      for (const listing of ['plain', 'parent_pipeline'] as const) {
        try {
          await syncListing(projectId, listing);
        } catch (err) {
          if (isFatal(err)) throw err;
          counts.skipped++;
          log?.warn({ project_id: projectId, listing, error: describe(err) }, 'GitLab pipeline listing stopped; the next run resumes from its cursor');
        }
      }
      counts.projects++;
    } catch (err) {
      fatal ??= err;
    } finally {
      done++;
      progress();
    }
  });
  if (fatal) throw fatal;

  return { projects: counts.projects, pipelines: counts.pipelines, jobs: counts.jobs, requests: client.requests - startRequests, skipped: counts.skipped };

  /** Project ids to sync: the group's projects, or the `--project` references (resolved once, remembered). */
  async function resolveProjects(): Promise<number[]> {
    const ids: number[] = [];
    for (const group of [...(options.group ? [options.group] : []), ...(options.groups ?? [])]) {
      let page: number | null = 1;
      while (page !== null) {
        const res = await client.groupProjects(group.path, { includeSubgroups: group.includeSubgroups, page, perPage });
        const at = syncedAt();
        const rows = res.items.map((p) => projectRow(p, at));
        await upsertProjects(db, rows);
        ids.push(...rows.map((r) => r.id));
        page = res.nextPage;
      }
    }
    const refs = [...new Set((options.projects ?? []).map((r) => String(r).trim()).filter((r) => r !== ''))];
    const resolved = await mapLimit(refs, concurrency, async (ref) => {
      try {
        const remembered = await resolvedRef(db, ref) ?? (/^\d+$/.test(ref) ? Number(ref) : undefined);
        if (remembered !== undefined && (await knownProjectIds(db, [remembered])).has(remembered)) {
          await rememberRef(db, ref, remembered);
          return remembered;
        }
        const project = await client.project(/^\d+$/.test(ref) ? Number(ref) : ref);
        const row = projectRow(project, syncedAt());
        await upsertProjects(db, [row]);
        await rememberRef(db, ref, row.id);
        return row.id;
      } catch (err) {
        if (isFatal(err)) throw err;
        counts.skipped++;
        const status = err instanceof GitlabRequestError ? err.status : null;
        log?.warn({ project: ref, status, error: describe(err) }, status === 404 ? 'GitLab project not found (or not visible to this token); skipped' : 'GitLab project could not be read; skipped');
        return undefined;
      }
    });
    for (const id of resolved) if (id !== undefined) ids.push(id);
    return [...new Set(ids)];
  }

  async function syncListing(projectId: number, listing: Listing): Promise<void> {
    const cursor = await readCursor(db, projectId, listing);
    let after = cursor !== undefined ? new Date(Date.parse(cursor) - overlapMs).toISOString() : since;
    let page = 1;
    const seen = new Map<number, string | null>();
    for (;;) {
      const res = await client.pipelines(projectId, {
        updatedAfter: after,
        source: listing === 'parent_pipeline' ? 'parent_pipeline' : undefined,
        page,
        perPage,
      });
      const fresh = res.items.filter((p) => {
        const id = requireInt(p.id, 'a pipeline');
        const updated = utc(p.updated_at);
        if (seen.has(id) && seen.get(id) === updated) return false;
        seen.set(id, updated);
        return true;
      });
      const stopped = await processPage(projectId, listing, res.items, fresh);
      if (stopped || res.items.length < perPage) return;
      const last = utc(res.items[res.items.length - 1]!.updated_at);
      const nextAfter = last ? new Date(Date.parse(last) - 1).toISOString() : undefined;
      if (nextAfter !== undefined && nextAfter !== after) {
        after = nextAfter;
        page = 1;
      } else {
        // A page full of pipelines updated in the same millisecond: only offsets can get past it.
        page++;
      }
    }
  }

  /** Fetches the jobs of the new or changed pipelines of one page and commits; true when the listing must stop. */
  async function processPage(projectId: number, listing: Listing, items: Json[], fresh: Json[]): Promise<boolean> {
    const states = await pipelineStates(db, fresh.map((p) => requireInt(p.id, 'a pipeline')));
    const changed = fresh.filter((p) => {
      const state = states.get(requireInt(p.id, 'a pipeline'));
      return !(state && state.jobs_synced === 1 && state.updated_at === utc(p.updated_at));
    });
    const results = await mapLimit(changed, concurrency, async (p) => {
      try {
        return { pipeline: p, jobs: await pipelineJobs(projectId, p) };
      } catch (err) {
        if (isFatal(err)) throw err;
        log?.warn({ project_id: projectId, pipeline_id: p.id, error: describe(err) }, 'jobs of a GitLab pipeline could not be read; the next run asks again');
        return { pipeline: p, error: err };
      }
    });
    const failed = results.filter((r) => 'error' in r).map((r) => r.pipeline);
    const ok = results.filter((r): r is { pipeline: Json; jobs: Insertable<GitlabJobsTable>[] } => 'jobs' in r);
    const at = syncedAt();
    const pipelines: Insertable<GitlabPipelinesTable>[] = ok.map((r) => pipelineRow(r.pipeline, at, true));
    const jobs = ok.flatMap((r) => r.jobs);

    // The cursor may pass every row of this page, or, after a failure, only the rows before the first failed one.
    const failedFloor = failed.length ? Math.min(...failed.map((p) => Date.parse(utc(p.updated_at) ?? ''))) : Infinity;
    const failedIds = new Set(failed.map((p) => p.id));
    let cursor: string | undefined;
    for (const p of items) {
      const u = utc(p.updated_at);
      if (!u || failedIds.has(p.id) || Date.parse(u) >= failedFloor) continue;
      if (cursor === undefined || u > cursor) cursor = u;
    }
    await commitPage(db, { projectId, listing, pipelines, jobs, cursor });
    counts.pipelines += pipelines.length;
    counts.jobs += jobs.length;
    counts.skipped += failed.length;
    progress();
    return failed.length > 0;
  }

  async function pipelineJobs(projectId: number, pipeline: Json): Promise<Insertable<GitlabJobsTable>[]> {
    const pipelineId = requireInt(pipeline.id, 'a pipeline');
    const all: Json[] = [];
    let page: number | null = 1;
    while (page !== null) {
      const res = await client.pipelineJobs(projectId, pipelineId, { page, perPage });
      all.push(...res.items);
      page = res.items.length === 0 ? null : res.nextPage;
    }
    const retried = retriedJobIds(all);
    const at = syncedAt();
    return all.map((j) => {
      const row = jobRow(j, at, retried, projectId);
      // Older job payloads carry a reduced pipeline object: fill from the listed pipeline.
      row.pipeline_source ??= typeof pipeline.source === 'string' ? pipeline.source : null;
      row.sha ??= typeof pipeline.sha === 'string' ? pipeline.sha : null;
      return row;
    });
  }
}
