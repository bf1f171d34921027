/**
 * A fake GitLab that speaks REST API v4 on loopback for the endpoints the sync uses, with the response
 * shapes of the public fixtures, GitLab's pagination headers and error bodies, and injectable trouble
 * (latency, 429 with Retry-After, 500/502/503, dropped connections, slow responses) on a schedule.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { paginate } from './pagination.js';
import { indexState, jobProjectId, loadStateDir, pipelineListView, publicView, type GitlabState, type IndexedState, type Json } from './state.js';

export type FaultType = '429' | '500' | '502' | '503' | 'drop' | 'delay';

/** One scheduled fault: applies to the matching requests number `after+1` … `after+times`. */
export interface FaultRule {
  type: FaultType;
  /** Substring of, or pattern tested against, the path and query after `/api/v4` (default: every request). */
  match?: string | RegExp;
  /** Matching requests let through before the fault starts (default 0). */
  after?: number;
  /** How many matching requests get the fault (default 1; `Infinity` for all). */
  times?: number;
  /** 429: `Retry-After` seconds (default 1). */
  retryAfter?: number;
  /** 429: send `RateLimit-Reset` (Unix seconds) this many seconds ahead instead of `Retry-After`. */
  resetInSeconds?: number;
  /** 429: answer with GitLab's application-limiter JSON body instead of Rack::Attack's `Retry later`. */
  jsonBody?: boolean;
  /** delay: how long to hold the response (default 5000 ms). */
  delayMs?: number;
  /** Called when the fault applies, before the response (tests: change the state mid-listing). */
  action?: () => void;
}

export interface RequestLogEntry {
  method: string;
  /** Path and query after `/api/v4` (never the token: tokens travel in headers). */
  path: string;
  status: number | 'dropped';
  at: number;
}

export interface FakeGitlabOptions {
  stateDir?: string;
  state?: GitlabState;
  /** Added before every response (ms). */
  latencyMs?: number;
  faults?: FaultRule[];
  port?: number;
  host?: string;
}

export interface FakeGitlab {
  /** Base URL without a trailing slash (`http://127.0.0.1:PORT`), as `--url` takes it. */
  url: string;
  port: number;
  requests: { readonly count: number; readonly log: RequestLogEntry[]; reset(): void };
  /** Replaces the whole state (in memory). */
  setState(state: GitlabState): void;
  /** Re-reads the state directory given at start. */
  reload(): Promise<void>;
  /** Mutates the current state in place, then re-indexes (tests: "a pipeline was updated"). */
  update(fn: (state: Required<GitlabState>) => void): void;
  schedule(fault: FaultRule): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

interface ActiveFault extends FaultRule {
  seen: number;
  applied: number;
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function time(v: unknown): number {
  return typeof v === 'string' ? Date.parse(v) : NaN;
}

/** `:id` of a project or group: numeric id or URL-encoded full path. */
function lookup(byId: Map<number, Json>, byPath: Map<string, Json>, ref: string): Json | undefined {
  return /^\d+$/.test(ref) ? byId.get(Number(ref)) : byPath.get(ref);
}

const JOB_STATUSES = new Set([
  'canceled', 'canceling', 'created', 'failed', 'manual', 'pending', 'preparing', 'running', 'scheduled', 'skipped', 'success',
  'waiting_for_callback', 'waiting_for_resource',
]);
const PIPELINE_ORDER = new Set(['id', 'status', 'ref', 'updated_at', 'user_id']);
const FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(String(body.message ?? body.error));
  }
}

const notFound = (what = 'Not found') => new HttpError(404, { message: `404 ${what}` });

function scopeFilter(params: URLSearchParams): Set<string> | undefined {
  const values = [...params.getAll('scope'), ...params.getAll('scope[]')];
  if (values.length === 0) return undefined;
  for (const v of values) if (!JOB_STATUSES.has(v)) throw new HttpError(400, { message: 'Scope contains invalid value(s)' });
  return new Set(values);
}

function compareBy(field: string, desc: boolean): (a: Json, b: Json) => number {
  return (a, b) => {
    const av = a[field] as string | number | null;
    const bv = b[field] as string | number | null;
    let c = 0;
    if (field.endsWith('_at')) c = time(av) - time(bv);
    else if (typeof av === 'number' && typeof bv === 'number') c = av - bv;
    else c = String(av ?? '').localeCompare(String(bv ?? ''));
    if (c === 0) c = num(a.id) - num(b.id);
    return desc ? -c : c;
  };
}

export async function startFakeGitlab(options: FakeGitlabOptions = {}): Promise<FakeGitlab> {
  let raw: Required<GitlabState> = normalise(options.state ?? (options.stateDir ? await loadStateDir(options.stateDir) : {}));
  let ix: IndexedState = indexState(raw);
  let latencyMs = options.latencyMs ?? 0;
  let faults: ActiveFault[] = (options.faults ?? []).map((f) => ({ ...f, seen: 0, applied: 0 }));
  const log: RequestLogEntry[] = [];
  let baseUrl = '';

  function normalise(s: GitlabState): Required<GitlabState> {
    return {
      tokens: s.tokens ?? [],
      oauth_tokens: s.oauth_tokens ?? [],
      groups: s.groups ?? [],
      projects: s.projects ?? [],
      pipelines: s.pipelines ?? [],
      jobs: s.jobs ?? [],
    };
  }

  function takeFault(path: string): ActiveFault | undefined {
    for (const f of faults) {
      const matches = f.match === undefined ? true : typeof f.match === 'string' ? path.includes(f.match) : f.match.test(path);
      if (!matches) continue;
      f.seen++;
      if (f.seen <= (f.after ?? 0)) continue;
      if (f.applied >= (f.times ?? 1)) continue;
      f.applied++;
      return f;
    }
    return undefined;
  }

  function authorised(req: IncomingMessage, params: URLSearchParams): boolean {
    if (ix.tokens.size === 0 && ix.oauthTokens.size === 0) return true;
    const priv = req.headers['private-token'];
    if (typeof priv === 'string' && ix.tokens.has(priv)) return true;
    const q = params.get('private_token');
    if (q && ix.tokens.has(q)) return true;
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^Bearer /i.test(auth)) {
      const t = auth.slice(7).trim();
      if (ix.oauthTokens.has(t) || ix.tokens.has(t)) return true;
    }
    return false;
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function sendFault(res: ServerResponse, req: IncomingMessage, f: ActiveFault, entry: RequestLogEntry): void {
    if (f.type === 'drop') {
      entry.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (f.type === '429') {
      entry.status = 429;
      const headers: Record<string, string> = { 'RateLimit-Limit': '600', 'RateLimit-Name': 'throttle_authenticated_api', 'RateLimit-Observed': '601', 'RateLimit-Remaining': '0' };
      if (f.resetInSeconds !== undefined) {
        const reset = Math.ceil(Date.now() / 1000 + f.resetInSeconds);
        headers['RateLimit-Reset'] = String(reset);
        headers['RateLimit-ResetTime'] = new Date(reset * 1000).toUTCString();
      } else {
        headers['Retry-After'] = String(f.retryAfter ?? 1);
      }
      if (f.jsonBody) {
        send(res, 429, { message: { error: 'This endpoint has been requested too many times. Try again later.' } }, headers);
      } else {
        res.writeHead(429, { 'Content-Type': 'text/plain', ...headers });
        res.end('Retry later\n');
      }
      return;
    }
    if (f.type === '500') {
      entry.status = 500;
      send(res, 500, { message: '500 Internal Server Error' });
      return;
    }
    // 502/503 come from the proxy in front of GitLab: plain text, not JSON.
    const status = Number(f.type);
    entry.status = status;
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(status === 502 ? '502 Bad Gateway\n' : '503 Service Unavailable\n');
  }

  function route(segments: string[], params: URLSearchParams, origin: string): { body: unknown; headers?: Record<string, string> } {
    const [root, idRaw, sub, subId, leaf] = segments;
    if (root === 'projects' && idRaw !== undefined) {
      const project = lookup(ix.projectById, ix.projectByPath, idRaw);
      if (!project) throw notFound('Project Not Found');
      const pid = num(project.id);
      const endpoint = `${origin}/api/v4/projects/${encodeURIComponent(idRaw)}`;
      if (sub === undefined) return { body: publicView(project) };
      if (project._forbidden === true) throw new HttpError(403, { message: '403 Forbidden' });
      if (sub === 'pipelines' && subId === undefined) return listPipelines(pid, params, `${endpoint}/pipelines`);
      if (sub === 'pipelines' && subId !== undefined && leaf === undefined) {
        const p = ix.pipelineById.get(Number(subId));
        if (!p || num(p.project_id) !== pid) throw notFound();
        return { body: publicView(p) };
      }
      if (sub === 'pipelines' && subId !== undefined && leaf === 'jobs' && segments.length === 5) {
        const p = ix.pipelineById.get(Number(subId));
        if (!p || num(p.project_id) !== pid) throw notFound();
        const scope = scopeFilter(params);
        const includeRetried = params.get('include_retried') === 'true';
        const jobs = (ix.jobsByPipeline.get(num(p.id)) ?? [])
          .filter((j) => (includeRetried || j._retried !== true) && (!scope || scope.has(String(j.status))))
          .slice()
          .reverse();
        const page = paginate(jobs, params, `${endpoint}/pipelines/${subId}/jobs`, true);
        return { body: page.items.map(publicView), headers: page.headers };
      }
      if (sub === 'jobs' && subId === undefined) {
        const scope = scopeFilter(params);
        const jobs = (ix.jobsByProject.get(pid) ?? []).filter((j) => !scope || scope.has(String(j.status))).slice().reverse();
        // As GitLab: the project jobs list is paginated without counts.
        const page = paginate(jobs, params, `${endpoint}/jobs`, false);
        return { body: page.items.map(publicView), headers: page.headers };
      }
      if (sub === 'jobs' && subId !== undefined && leaf === undefined) {
        const job = /^\d+$/.test(subId) ? ix.jobById.get(Number(subId)) : undefined;
        if (!job || jobProjectId(job) !== pid) throw notFound();
        return { body: publicView(job) };
      }
    }
    if (root === 'groups' && idRaw !== undefined && sub === 'projects' && subId === undefined) {
      const group = lookup(ix.groupById, ix.groupByPath, idRaw);
      if (!group) throw notFound('Group Not Found');
      const ids = new Set([num(group.id)]);
      if (params.get('include_subgroups') === 'true') {
        let grew = true;
        while (grew) {
          grew = false;
          for (const g of ix.groups) {
            if (g.parent_id != null && ids.has(num(g.parent_id)) && !ids.has(num(g.id))) {
              ids.add(num(g.id));
              grew = true;
            }
          }
        }
      }
      const orderBy = params.get('order_by') ?? 'created_at';
      const projects = ix.projects
        .filter((p) => ids.has(num((p.namespace as Json | undefined)?.id)))
        .sort(compareBy(orderBy, (params.get('sort') ?? 'desc') !== 'asc'));
      const page = paginate(projects, params, `${origin}/api/v4/groups/${encodeURIComponent(idRaw)}/projects`, true);
      return { body: page.items.map(publicView), headers: page.headers };
    }
    throw new HttpError(404, { error: '404 Not Found' });
  }

  function listPipelines(pid: number, params: URLSearchParams, endpoint: string): { body: unknown; headers: Record<string, string> } {
    const orderBy = params.get('order_by') ?? 'id';
    if (!PIPELINE_ORDER.has(orderBy)) throw new HttpError(400, { error: 'order_by does not have a valid value' });
    const sort = params.get('sort') ?? 'desc';
    if (sort !== 'asc' && sort !== 'desc') throw new HttpError(400, { error: 'sort does not have a valid value' });
    const bound = (name: string) => {
      const v = params.get(name);
      if (v === null) return undefined;
      const t = Date.parse(v);
      if (Number.isNaN(t)) throw new HttpError(400, { error: `${name} is invalid` });
      return t;
    };
    const updatedAfter = bound('updated_after');
    const updatedBefore = bound('updated_before');
    const createdAfter = bound('created_after');
    const createdBefore = bound('created_before');
    const source = params.get('source');
    const status = params.get('status');
    const ref = params.get('ref');
    const sha = params.get('sha');
    const scope = params.get('scope');
    const list = (ix.pipelinesByProject.get(pid) ?? []).filter((p) => {
      // Child pipelines are left out unless asked for with source=parent_pipeline (GitLab 17.0+).
      if (source ? p.source !== source : p.source === 'parent_pipeline') return false;
      const u = time(p.updated_at);
      const c = time(p.created_at);
      if (updatedAfter !== undefined && !(u > updatedAfter)) return false;
      if (updatedBefore !== undefined && !(u < updatedBefore)) return false;
      if (createdAfter !== undefined && !(c > createdAfter)) return false;
      if (createdBefore !== undefined && !(c < createdBefore)) return false;
      if (status && p.status !== status) return false;
      if (ref && p.ref !== ref) return false;
      if (sha && p.sha !== sha) return false;
      if (scope === 'finished' && !FINISHED.has(String(p.status))) return false;
      if ((scope === 'running' || scope === 'pending') && p.status !== scope) return false;
      if (scope === 'tags' && p.tag !== true) return false;
      if (scope === 'branches' && p.tag === true) return false;
      return true;
    });
    list.sort(compareBy(orderBy, sort === 'desc'));
    const page = paginate(list, params, endpoint, true);
    return { body: page.items.map(pipelineListView), headers: page.headers };
  }

  const server = createServer((req, res) => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const apiPath = pathname.startsWith('/api/v4/') ? rawUrl.slice('/api/v4'.length) : rawUrl;
    const entry: RequestLogEntry = { method: req.method ?? 'GET', path: apiPath, status: 0, at: Date.now() };
    log.push(entry);
    const respond = () => {
      const fault = takeFault(apiPath);
      fault?.action?.();
      if (fault?.type === 'delay') {
        setTimeout(() => {
          if (!res.destroyed) handle(req, res, pathname, params, entry);
        }, fault.delayMs ?? 5000);
        return;
      }
      if (fault) return sendFault(res, req, fault, entry);
      handle(req, res, pathname, params, entry);
    };
    if (latencyMs > 0) setTimeout(respond, latencyMs);
    else respond();
  });

  function handle(req: IncomingMessage, res: ServerResponse, pathname: string, params: URLSearchParams, entry: RequestLogEntry): void {
    try {
      if (!pathname.startsWith('/api/v4/')) throw new HttpError(404, { error: '404 Not Found' });
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, { error: '405 Method Not Allowed' });
      if (!authorised(req, params)) throw new HttpError(401, { message: '401 Unauthorized' });
      // Split before decoding, so a URL-encoded project path (group%2Fproject) stays one segment.
      const segments = pathname.slice('/api/v4/'.length).split('/').filter((s) => s !== '').map(decodeURIComponent);
      const { body, headers } = route(segments, params, baseUrl);
      entry.status = 200;
      send(res, 200, body, headers);
    } catch (err) {
      if (err instanceof HttpError) {
        entry.status = err.status;
        send(res, err.status, err.body);
      } else {
        entry.status = 500;
        send(res, 500, { message: '500 Internal Server Error' });
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${address.port}`;

  return {
    url: baseUrl,
    port: address.port,
    requests: {
      get count() {
        return log.length;
      },
      log,
      reset: () => {
        log.length = 0;
      },
    },
    setState: (state) => {
      raw = normalise(state);
      ix = indexState(raw);
    },
    reload: async () => {
      if (!options.stateDir) throw new Error('reload() needs the stateDir the server was started with');
      raw = normalise(await loadStateDir(options.stateDir));
      ix = indexState(raw);
    },
    update: (fn) => {
      fn(raw);
      ix = indexState(raw);
    },
    schedule: (fault) => {
      faults.push({ ...fault, seen: 0, applied: 0 });
    },
    clearFaults: () => {
      faults = [];
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
