import type Database from 'better-sqlite3';
import { addSeconds, keyOf } from './times.js';

/** The GitLab facts the correlator compares against, read once per run and cached. */
export interface JobFacts {
  id: number;
  project_id: number;
  pipeline_id: number;
  pipeline_source: string | null;
  status: string | null;
  ref: string | null;
  user_login: string | null;
  runner_ip: string | null;
  start_key: string | null; // started_at (created_at when it never started)
  finished_key: string | null;
  finished_at: string | null;
}

export interface ProjectFacts {
  id: number;
  path: string;
  forked_from_project_id: number | null;
}

interface JobRow {
  id: number;
  project_id: number;
  pipeline_id: number;
  pipeline_source: string | null;
  status: string | null;
  ref: string | null;
  user_login: string | null;
  runner_ip: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
}

const JOB_COLUMNS = 'id, project_id, pipeline_id, pipeline_source, status, ref, user_login, runner_ip, created_at, started_at, finished_at';

function toFacts(r: JobRow): JobFacts {
  return {
    id: r.id,
    project_id: r.project_id,
    pipeline_id: r.pipeline_id,
    pipeline_source: r.pipeline_source,
    status: r.status,
    ref: r.ref,
    user_login: r.user_login,
    runner_ip: r.runner_ip,
    start_key: keyOf(r.started_at) ?? keyOf(r.created_at),
    finished_key: keyOf(r.finished_at),
    finished_at: r.finished_at,
  };
}

/** The value cached for a key, loaded once (a miss is cached as null too, so it is not asked again). */
function cached<K, V>(cache: Map<K, V>, key: K, load: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = load();
    cache.set(key, value);
  }
  return value;
}

export class GitlabView {
  private readonly jobs = new Map<number, JobFacts | null>();
  private readonly projects = new Map<number, ProjectFacts | null>();
  private readonly projectByPath = new Map<string, ProjectFacts | null>();
  private readonly pipelineSources = new Map<number, string | null>();
  private readonly lookups = new Map<number, string | null>();
  private userLogins: Set<string> | null = null;
  private readonly stmts;

  constructor(private readonly sqlite: Database.Database) {
    this.stmts = {
      job: sqlite.prepare(`SELECT ${JOB_COLUMNS} FROM gitlab_jobs WHERE id = ?`),
      project: sqlite.prepare('SELECT id, path_with_namespace AS path, forked_from_project_id FROM gitlab_projects WHERE id = ?'),
      projectByPath: sqlite.prepare('SELECT id, path_with_namespace AS path, forked_from_project_id FROM gitlab_projects WHERE path_with_namespace = ?'),
      pipelineSource: sqlite.prepare('SELECT source FROM gitlab_pipelines WHERE id = ?'),
      lookup: sqlite.prepare('SELECT status FROM gitlab_job_lookups WHERE job_id = ?'),
      projectJobs: sqlite.prepare(`SELECT ${JOB_COLUMNS} FROM gitlab_jobs WHERE project_id = ? AND started_at IS NOT NULL`),
      users: sqlite.prepare('SELECT DISTINCT user_login FROM gitlab_jobs WHERE user_login IS NOT NULL'),
    };
  }

  job(id: number | null): JobFacts | null {
    if (id === null) return null;
    return cached(this.jobs, id, () => {
      const row = this.stmts.job.get(id) as JobRow | undefined;
      return row ? toFacts(row) : null;
    });
  }

  project(id: number | null): ProjectFacts | null {
    if (id === null) return null;
    return cached(this.projects, id, () => (this.stmts.project.get(id) as ProjectFacts | undefined) ?? null);
  }

  projectNamed(path: string): ProjectFacts | null {
    return cached(this.projectByPath, path, () => (this.stmts.projectByPath.get(path) as ProjectFacts | undefined) ?? null);
  }

  pipelineSource(id: number): string | null {
    return cached(this.pipelineSources, id, () => (this.stmts.pipelineSource.get(id) as { source: string | null } | undefined)?.source ?? null);
  }

  /** The outcome of a targeted lookup of a job (`--jobs-from-audit`): 'not-found' means GitLab has no such job. */
  lookupStatus(jobId: number): string | null {
    return cached(this.lookups, jobId, () => (this.stmts.lookup.get(jobId) as { status: string } | undefined)?.status ?? null);
  }

  private readonly projectJobs = new Map<number, { finished: JobFacts[]; longestSeconds: number; unfinished: JobFacts[] }>();

  private jobsOfProject(projectId: number): { finished: JobFacts[]; longestSeconds: number; unfinished: JobFacts[] } {
    let entry = this.projectJobs.get(projectId);
    if (!entry) {
      const finished: JobFacts[] = [];
      const unfinished: JobFacts[] = [];
      let longestMs = 0;
      for (const r of this.stmts.projectJobs.all(projectId) as JobRow[]) {
        let j = this.jobs.get(r.id);
        if (!j) this.jobs.set(r.id, (j = toFacts(r)));
        if (j.start_key === null) continue;
        if (j.finished_key === null) unfinished.push(j);
        else {
          finished.push(j);
          longestMs = Math.max(longestMs, Date.parse(`${j.finished_key.slice(0, 23)}Z`) - Date.parse(`${j.start_key.slice(0, 23)}Z`));
        }
      }
      finished.sort((a, b) => (a.start_key! < b.start_key! ? -1 : a.start_key! > b.start_key! ? 1 : a.id - b.id));
      entry = { finished, longestSeconds: Math.ceil(longestMs / 1000) + 1, unfinished };
      this.projectJobs.set(projectId, entry);
    }
    return entry;
  }

  /**
   * Jobs of a project running at some instant of [loKey, hiKey] (time keys): started by hiKey and not
   * finished before loKey. A per-run index of the project's jobs sorted by start, searched from loKey minus
   * the project's longest job, keeps each lookup proportional to the jobs around that time.
   */
  jobsRunningBetween(projectId: number, loKey: string, hiKey: string): JobFacts[] {
    const { finished, longestSeconds, unfinished } = this.jobsOfProject(projectId);
    const fromKey = addSeconds(loKey, -longestSeconds);
    let lo = 0;
    let hi = finished.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (finished[mid]!.start_key! < fromKey) lo = mid + 1;
      else hi = mid;
    }
    const out: JobFacts[] = [];
    for (let i = lo; i < finished.length && finished[i]!.start_key! <= hiKey; i++) {
      if (finished[i]!.finished_key! >= loKey) out.push(finished[i]!);
    }
    for (const j of unfinished) if (j.start_key! <= hiKey) out.push(j);
    return out.sort((a, b) => a.id - b.id);
  }

  isGitlabUser(login: string): boolean {
    this.userLogins ??= new Set((this.stmts.users.all() as { user_login: string }[]).map((r) => r.user_login));
    return this.userLogins.has(login);
  }
}
