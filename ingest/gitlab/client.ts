/**
 * The GitLab client keytrail owns: @gitbeaker/rest resources (Projects, Groups, Pipelines, Jobs) for the
 * endpoints, paths and option encoding, over our own `requesterFn`, so every request goes through
 * `Transport` (our retry/rate-limit/timeout policy and request count) and gitbeaker's blind 429/502 retry and
 * its whole-listing query timeout never run. Pages are fetched one at a time (`page` + `showExpanded`), so the
 * caller commits as it goes and a timeout covers one page, never a whole listing.
 */
import { Groups, Jobs, Pipelines, Projects } from '@gitbeaker/rest';
import { Transport, type GitlabLogger, type RetryPolicy } from './transport.js';

export type Json = Record<string, unknown>;

export interface GitlabAuth {
  kind: 'private-token' | 'oauth';
  token: string;
}

export interface GitlabClientOptions {
  /** Base URL (`https://gitlab.example.com`); a trailing slash or `/api/v4` is removed. */
  url: string;
  auth: GitlabAuth;
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  logger?: GitlabLogger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface Page<T = Json> {
  items: T[];
  /** The next page number (`X-Next-Page`), or null on the last page. */
  nextPage: number | null;
}

export interface PipelineListQuery {
  updatedAfter?: string;
  updatedBefore?: string;
  /** `parent_pipeline` lists child pipelines, which the plain listing leaves out. */
  source?: string;
  page?: number;
  perPage?: number;
}

/** Everything the sync asks of GitLab. */
export interface GitlabClient {
  readonly baseUrl: string;
  /** HTTP requests sent so far by this client, retries included. */
  readonly requests: number;
  readonly peakConcurrency: number;
  project(idOrPath: number | string): Promise<Json>;
  groupProjects(group: string, opts: { includeSubgroups: boolean; page: number; perPage?: number }): Promise<Page>;
  /** Pipelines ordered by `updated_at` ascending (then id). */
  pipelines(projectId: number, query: PipelineListQuery): Promise<Page>;
  pipeline(projectId: number, pipelineId: number): Promise<Json>;
  /** A pipeline's jobs, retried ones included. */
  pipelineJobs(projectId: number, pipelineId: number, opts: { page: number; perPage?: number }): Promise<Page>;
  job(projectId: number, jobId: number): Promise<Json>;
}

export function normaliseBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '').replace(/\/api\/v4$/, '');
}

/** camelCase option keys → GitLab's snake_case query keys (gitbeaker's own requester does the same). */
function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

export function formatQuery(params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    const key = snake(k);
    if (Array.isArray(v)) for (const item of v) parts.push(`${encodeURIComponent(`${key}[]`)}=${encodeURIComponent(String(item))}`);
    else parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
  }
  return parts.join('&');
}

type ResourceOptions = {
  headers: Record<string, string>;
  authHeaders: Record<string, () => Promise<string>>;
  url: string;
};
type RequestOptions = { searchParams?: Record<string, unknown>; sudo?: string | number };

/** gitbeaker's requester contract (`requesterFn(resourceOptions) → {get, post, …}`), read-only, over Transport. */
function makeRequesterFn(transport: Transport, apiRoot: string) {
  return (resource: ResourceOptions) => {
    const get = async (endpoint: string, options?: RequestOptions) => {
      const headers: Record<string, string> = { ...resource.headers, accept: 'application/json' };
      for (const [name, value] of Object.entries(resource.authHeaders)) headers[name] = await value();
      if (options?.sudo !== undefined) headers.sudo = String(options.sudo);
      const query = formatQuery(options?.searchParams);
      // resource.url ends with '/' (gitbeaker joins an empty prefixUrl).
      const url = `${resource.url.replace(/\/+$/, '')}/${endpoint}${query ? `?${query}` : ''}`;
      const shown = url.startsWith(apiRoot) ? url.slice(apiRoot.length) : url;
      return transport.get(url, headers, shown);
    };
    const refuse = async () => {
      throw new Error('the keytrail GitLab client is read-only');
    };
    return { get, post: refuse, put: refuse, patch: refuse, delete: refuse };
  };
}

interface Expanded {
  data: unknown;
  paginationInfo?: { next?: number | null };
}

function toPage(result: unknown): Page {
  const r = result as Expanded;
  const items = Array.isArray(r.data) ? (r.data as Json[]) : [];
  const next = r.paginationInfo?.next;
  return { items, nextPage: typeof next === 'number' && Number.isFinite(next) && next > 0 ? next : null };
}

export function createGitlabClient(options: GitlabClientOptions): GitlabClient {
  const baseUrl = normaliseBaseUrl(options.url);
  const transport = new Transport({
    concurrency: options.concurrency,
    retry: options.retry,
    logger: options.logger,
    sleep: options.sleep,
    random: options.random,
  });
  const apiRoot = `${baseUrl}/api/v4`;
  const common = {
    host: baseUrl,
    requesterFn: makeRequesterFn(transport, apiRoot),
    // Our transport times out each request; gitbeaker's timeout spans a whole listing.
    queryTimeout: null,
    // Our requester never consults gitbeaker's client-side limiter; an empty map keeps it from building one.
    rateLimits: {},
  };
  const tokenOption = options.auth.kind === 'oauth' ? { oauthToken: options.auth.token } : { token: options.auth.token };
  // gitbeaker's constructor types only model its own requester; ours has the same shape.
  const config = { ...common, ...tokenOption } as unknown as ConstructorParameters<typeof Projects>[0];
  const projects = new Projects(config);
  const groups = new Groups(config);
  const pipelines = new Pipelines(config);
  const jobs = new Jobs(config);
  const loose = <T>(v: T) => v as unknown as Json;

  return {
    baseUrl,
    get requests() {
      return transport.requests;
    },
    get peakConcurrency() {
      return transport.peakConcurrency;
    },
    project: async (idOrPath) => loose(await projects.show(idOrPath)),
    groupProjects: async (group, opts) =>
      toPage(
        await groups.allProjects(group, {
          includeSubgroups: opts.includeSubgroups,
          withShared: false,
          orderBy: 'id',
          sort: 'asc',
          page: opts.page,
          perPage: opts.perPage ?? 100,
          showExpanded: true,
        } as never),
      ),
    pipelines: async (projectId, query) =>
      toPage(
        await pipelines.all(projectId, {
          ...(query.updatedAfter ? { updatedAfter: query.updatedAfter } : {}),
          ...(query.updatedBefore ? { updatedBefore: query.updatedBefore } : {}),
          ...(query.source ? { source: query.source } : {}),
          orderBy: 'updated_at',
          sort: 'asc',
          page: query.page ?? 1,
          perPage: query.perPage ?? 100,
          showExpanded: true,
        } as never),
      ),
    pipeline: async (projectId, pipelineId) => loose(await pipelines.show(projectId, pipelineId)),
    pipelineJobs: async (projectId, pipelineId, opts) =>
      toPage(
        await jobs.all(projectId, {
          pipelineId,
          includeRetried: true,
          page: opts.page,
          perPage: opts.perPage ?? 100,
          showExpanded: true,
        } as never),
      ),
    job: async (projectId, jobId) => loose(await jobs.show(projectId, jobId)),
  };
}
