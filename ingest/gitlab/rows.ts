/**
 * REST objects → table rows. IDs are integers, times are normalised to UTC ISO-8601 with milliseconds (so
 * they compare as text), and each row keeps the exact JSON GitLab returned.
 */
import type { Insertable } from 'kysely';
import type { GitlabJobsTable, GitlabPipelinesTable, GitlabProjectsTable } from '../../db/schema/index.js';
import type { Json } from './client.js';

function int(v: unknown): number | null {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

/** UTC ISO-8601 with milliseconds, or null when absent or unreadable. */
export function utc(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

export function requireInt(v: unknown, what: string): number {
  const n = int(v);
  if (n === null) throw new Error(`GitLab returned ${what} without an integer id`);
  return n;
}

export function projectRow(p: Json, syncedAt: string): Insertable<GitlabProjectsTable> {
  const ns = obj(p.namespace);
  const fork = obj(p.forked_from_project);
  return {
    id: requireInt(p.id, 'a project'),
    path_with_namespace: str(p.path_with_namespace) ?? String(p.id),
    name: str(p.name),
    namespace_full_path: str(ns?.full_path),
    web_url: str(p.web_url),
    default_branch: str(p.default_branch),
    forked_from_project_id: int(fork?.id),
    raw: JSON.stringify(p),
    synced_at: syncedAt,
  };
}

export function pipelineRow(p: Json, syncedAt: string, jobsSynced: boolean): Insertable<GitlabPipelinesTable> {
  return {
    id: requireInt(p.id, 'a pipeline'),
    project_id: requireInt(p.project_id, 'a pipeline project'),
    iid: int(p.iid),
    sha: str(p.sha),
    ref: str(p.ref),
    status: str(p.status),
    source: str(p.source),
    created_at: utc(p.created_at),
    updated_at: utc(p.updated_at),
    web_url: str(p.web_url),
    raw: JSON.stringify(p),
    synced_at: syncedAt,
    jobs_synced: jobsSynced ? 1 : 0,
  };
}

/**
 * `retried`: GitLab marks a job retried when a newer job with the same name replaced it in the same pipeline,
 * and the REST job has no such field. Given the pipeline's whole job list (include_retried=true), every job
 * but the newest of its name is a retried one. `retriedIds` is that set; null when unknown (a single job).
 */
export function jobRow(j: Json, syncedAt: string, retriedIds: Set<number> | null, fallbackProjectId?: number): Insertable<GitlabJobsTable> {
  const pipeline = obj(j.pipeline);
  const user = obj(j.user);
  const runner = obj(j.runner);
  const manager = obj(j.runner_manager);
  const id = requireInt(j.id, 'a job');
  const projectId = int(pipeline?.project_id) ?? fallbackProjectId;
  if (projectId === undefined) throw new Error(`GitLab job ${id} has no pipeline.project_id`);
  return {
    id,
    project_id: projectId,
    pipeline_id: requireInt(pipeline?.id, `job ${id}'s pipeline`),
    pipeline_source: str(pipeline?.source),
    name: str(j.name),
    stage: str(j.stage),
    status: str(j.status),
    ref: str(j.ref),
    tag: j.tag === true ? 1 : 0,
    sha: str(pipeline?.sha) ?? str(obj(j.commit)?.id),
    user_id: int(user?.id),
    user_login: str(user?.username),
    created_at: utc(j.created_at),
    started_at: utc(j.started_at),
    finished_at: utc(j.finished_at),
    duration: typeof j.duration === 'number' ? j.duration : null,
    web_url: str(j.web_url),
    retried: retriedIds?.has(id) ? 1 : 0,
    runner_id: int(runner?.id),
    runner_description: str(runner?.description),
    // The REST runner.ip_address is always null; the runner manager's address is the one that means something.
    runner_ip: str(manager?.ip_address),
    raw: JSON.stringify(j),
    synced_at: syncedAt,
  };
}

/** Ids of the jobs that a newer job of the same name replaced (see jobRow). */
export function retriedJobIds(jobs: Json[]): Set<number> {
  const newest = new Map<string, number>();
  for (const j of jobs) {
    const id = int(j.id);
    if (id === null) continue;
    const name = String(j.name ?? '');
    newest.set(name, Math.max(newest.get(name) ?? -Infinity, id));
  }
  const retried = new Set<number>();
  for (const j of jobs) {
    const id = int(j.id);
    if (id !== null && newest.get(String(j.name ?? '')) !== id) retried.add(id);
  }
  return retried;
}
