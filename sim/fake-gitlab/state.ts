/**
 * The fake GitLab's data: loaded from a state directory (notes/GITLAB_STATE.md: `DIR/gitlab/…` or the
 * gitlab directory itself) or given in memory, then indexed by project and pipeline so every endpoint
 * answers without scanning. Keys starting with `_` are internal and never served.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type Json = Record<string, unknown>;

export interface GitlabState {
  /** Accepted `PRIVATE-TOKEN` (or Bearer) values. With no token at all configured, every request is accepted. */
  tokens?: string[];
  oauth_tokens?: string[];
  groups?: Json[];
  projects?: Json[];
  /** Single-pipeline ("show") shape. */
  pipelines?: Json[];
  /** `get_job.json` shape plus `_retried`. */
  jobs?: Json[];
}

export interface IndexedState {
  tokens: Set<string>;
  oauthTokens: Set<string>;
  groups: Json[];
  groupById: Map<number, Json>;
  groupByPath: Map<string, Json>;
  projects: Json[];
  projectById: Map<number, Json>;
  projectByPath: Map<string, Json>;
  /** Pipelines of each project, in id order. */
  pipelinesByProject: Map<number, Json[]>;
  pipelineById: Map<number, Json>;
  /** Jobs of each pipeline, in id order. */
  jobsByPipeline: Map<number, Json[]>;
  /** Jobs of each project (the job's project is `pipeline.project_id`), in id order. */
  jobsByProject: Map<number, Json[]>;
  jobById: Map<number, Json>;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

export function jobProjectId(job: Json): number {
  return num((job.pipeline as Json | undefined)?.project_id);
}

export function jobPipelineId(job: Json): number {
  return num((job.pipeline as Json | undefined)?.id);
}

function pushTo<K>(map: Map<K, Json[]>, key: K, value: Json): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

const byId = (a: Json, b: Json) => num(a.id) - num(b.id);

/** Builds the lookup maps the server answers from. */
export function indexState(state: GitlabState): IndexedState {
  const groups = state.groups ?? [];
  const projects = state.projects ?? [];
  const ix: IndexedState = {
    tokens: new Set(state.tokens ?? []),
    oauthTokens: new Set(state.oauth_tokens ?? []),
    groups,
    groupById: new Map(groups.map((g) => [num(g.id), g])),
    groupByPath: new Map(groups.map((g) => [String(g.full_path ?? g.path), g])),
    projects,
    projectById: new Map(projects.map((p) => [num(p.id), p])),
    projectByPath: new Map(projects.map((p) => [String(p.path_with_namespace), p])),
    pipelinesByProject: new Map(),
    pipelineById: new Map(),
    jobsByPipeline: new Map(),
    jobsByProject: new Map(),
    jobById: new Map(),
  };
  for (const p of state.pipelines ?? []) {
    ix.pipelineById.set(num(p.id), p);
    pushTo(ix.pipelinesByProject, num(p.project_id), p);
  }
  for (const j of state.jobs ?? []) {
    ix.jobById.set(num(j.id), j);
    pushTo(ix.jobsByPipeline, jobPipelineId(j), j);
    pushTo(ix.jobsByProject, jobProjectId(j), j);
  }
  for (const list of ix.pipelinesByProject.values()) list.sort(byId);
  for (const list of ix.jobsByPipeline.values()) list.sort(byId);
  for (const list of ix.jobsByProject.values()) list.sort(byId);
  return ix;
}

async function readNdjson(path: string): Promise<Json[]> {
  if (!existsSync(path)) return [];
  const out: Json[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    out.push(JSON.parse(line) as Json);
  }
  return out;
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : fallback;
}

/**
 * Reads a state directory. `dir` may be the simulator's output directory (which holds `gitlab/`) or the
 * `gitlab/` directory itself.
 */
export async function loadStateDir(dir: string): Promise<GitlabState> {
  const base = existsSync(join(dir, 'gitlab', 'projects.json')) || existsSync(join(dir, 'gitlab', 'server.json')) ? join(dir, 'gitlab') : dir;
  const server = readJson<{ tokens?: string[]; oauth_tokens?: string[] }>(join(base, 'server.json'), {});
  return {
    tokens: server.tokens ?? [],
    oauth_tokens: server.oauth_tokens ?? [],
    groups: readJson<Json[]>(join(base, 'groups.json'), []),
    projects: readJson<Json[]>(join(base, 'projects.json'), []),
    pipelines: await readNdjson(join(base, 'pipelines.ndjson')),
    jobs: await readNdjson(join(base, 'jobs.ndjson')),
  };
}

/** A copy without the internal `_` keys (top level only: nested objects carry none). */
export function publicView(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

/** Fields of the basic pipeline shape the list endpoint serves (PipelineBasicWithMetadata). */
const PIPELINE_LIST_FIELDS = ['id', 'iid', 'project_id', 'sha', 'ref', 'status', 'source', 'created_at', 'updated_at', 'web_url', 'name'];

export function pipelineListView(p: Json): Json {
  const out: Json = {};
  for (const k of PIPELINE_LIST_FIELDS) out[k] = k in p ? p[k] : null;
  return out;
}
