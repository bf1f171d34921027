/**
 * What every rule sees: the database, the settings, and memoised look-ups (jobs, projects, tokens, the
 * distinct secret paths) so that rules sharing a question ask the database once per run.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../../db/schema/index.js';
import { timeKeyToMillis } from '../../db/time.js';
import type { RuleId } from './catalogue.js';
import type { DetectionSettings } from './settings.js';

/** One piece of evidence: usually one request; grouped by (rule, subject) into a finding. */
export interface Evidence {
  subject: string;
  time_key: string;
  request_id: string | null;
  job_id?: number | null;
  project_id?: number | null;
  project_path?: string | null;
  user_login?: string | null;
  path?: string | null;
  lease_id?: string | null;
  /** Rule-specific facts the detail sentence uses. */
  facts?: Record<string, unknown>;
}

/** The evidence of one (rule, subject), ordered by time. */
export interface EvidenceGroup {
  rule: RuleId;
  subject: string;
  items: Evidence[];
  first: Evidence;
  last: Evidence;
  count: number;
}

export interface Rule {
  id: RuleId;
  detect(ctx: RuleContext): Promise<Evidence[]>;
  /** One sentence a person can act on. */
  describe(group: EvidenceGroup, ctx: RuleContext): string;
}

export interface JobInfo {
  id: number;
  project_id: number;
  pipeline_id: number;
  pipeline_source: string | null;
  name: string | null;
  status: string | null;
  ref: string | null;
  user_login: string | null;
  started_at: string | null;
  finished_at: string | null;
  runner_ip: string | null;
}

export type AccessRow = Pick<
  Database['accesses'],
  | 'request_id'
  | 'time_key'
  | 'operation'
  | 'path'
  | 'mount_type'
  | 'outcome'
  | 'remote_address'
  | 'display_name'
  | 'entity_id'
  | 'auth_mount'
  | 'role'
  | 'token_accessor'
  | 'token_id'
  | 'lease_id'
  | 'job_id'
  | 'pipeline_id'
  | 'project_id'
  | 'project_path'
  | 'user_login'
  | 'ref'
  | 'attribution'
  | 'verified'
  | 'verify_detail'
  | 'is_secret_access'
  | 'pairing'
>;

export const ACCESS_COLUMNS = [
  'request_id',
  'time_key',
  'operation',
  'path',
  'mount_type',
  'outcome',
  'remote_address',
  'display_name',
  'entity_id',
  'auth_mount',
  'role',
  'token_accessor',
  'token_id',
  'lease_id',
  'job_id',
  'pipeline_id',
  'project_id',
  'project_path',
  'user_login',
  'ref',
  'attribution',
  'verified',
  'verify_detail',
  'is_secret_access',
  'pairing',
] as const;

export type TokenRow = Selectable<Database['tokens']>;

const CHUNK = 500;

export function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class RuleContext {
  private jobCache = new Map<number, JobInfo | null>();
  private projectCache: Map<number, string> | undefined;
  private tokenCache = new Map<number, TokenRow | null>();
  private secretPaths: string[] | undefined;
  private accessCache = new Map<string, Promise<AccessRow[]>>();
  private issueCache = new Map<number, { path: string | null; mount_type: string | null } | null>();

  constructor(
    readonly db: Kysely<Database>,
    readonly settings: DetectionSettings,
    readonly now: Date,
  ) {}

  get graceMs(): number {
    return (this.settings.correlation.job_grace_seconds ?? 300) * 1000;
  }

  /** The distinct paths of successful secret accesses (small next to the accesses themselves). */
  async distinctSecretPaths(): Promise<string[]> {
    if (!this.secretPaths) {
      const rows = await this.db
        .selectFrom('accesses')
        .select('path')
        .distinct()
        .where('is_secret_access', '=', 1)
        .where('outcome', '=', 'ok')
        .where('path', 'is not', null)
        .execute();
      this.secretPaths = rows.map((r) => r.path as string);
    }
    return this.secretPaths;
  }

  /** Successful secret accesses to the given paths, ordered by time (memoised: rules share path sets). */
  secretAccessesTo(paths: string[]): Promise<AccessRow[]> {
    const key = [...paths].sort().join('\u0000');
    let p = this.accessCache.get(key);
    if (!p) {
      p = this.loadSecretAccesses(paths);
      this.accessCache.set(key, p);
    }
    return p;
  }

  private async loadSecretAccesses(paths: string[]): Promise<AccessRow[]> {
    const out: AccessRow[] = [];
    for (const part of chunks(paths)) {
      const rows = await this.db
        .selectFrom('accesses')
        .select([...ACCESS_COLUMNS])
        .where('is_secret_access', '=', 1)
        .where('outcome', '=', 'ok')
        .where('path', 'in', part)
        .execute();
      out.push(...rows);
    }
    return out.sort((a, b) => (a.time_key < b.time_key ? -1 : a.time_key > b.time_key ? 1 : a.request_id < b.request_id ? -1 : 1));
  }

  async jobs(ids: Iterable<number>): Promise<Map<number, JobInfo>> {
    const missing = [...new Set(ids)].filter((id) => !this.jobCache.has(id));
    for (const part of chunks(missing)) {
      const rows = await this.db
        .selectFrom('gitlab_jobs')
        .select(['id', 'project_id', 'pipeline_id', 'pipeline_source', 'name', 'status', 'ref', 'user_login', 'started_at', 'finished_at', 'runner_ip'])
        .where('id', 'in', part)
        .execute();
      for (const r of rows) this.jobCache.set(r.id, r);
      for (const id of part) if (!this.jobCache.has(id)) this.jobCache.set(id, null);
    }
    const out = new Map<number, JobInfo>();
    for (const id of ids) {
      const job = this.jobCache.get(id);
      if (job) out.set(id, job);
    }
    return out;
  }

  async job(id: number | null | undefined): Promise<JobInfo | undefined> {
    if (id === null || id === undefined) return undefined;
    return (await this.jobs([id])).get(id);
  }

  /** Project path by GitLab id (from the GitLab sync). */
  async projectPaths(): Promise<Map<number, string>> {
    if (!this.projectCache) {
      const rows = await this.db.selectFrom('gitlab_projects').select(['id', 'path_with_namespace']).execute();
      this.projectCache = new Map(rows.map((r) => [r.id, r.path_with_namespace]));
    }
    return this.projectCache;
  }

  async tokens(ids: Iterable<number>): Promise<Map<number, TokenRow>> {
    const missing = [...new Set(ids)].filter((id) => !this.tokenCache.has(id));
    for (const part of chunks(missing)) {
      const rows = await this.db.selectFrom('tokens').selectAll().where('id', 'in', part).execute();
      for (const r of rows) this.tokenCache.set(r.id, r);
      for (const id of part) if (!this.tokenCache.has(id)) this.tokenCache.set(id, null);
    }
    const out = new Map<number, TokenRow>();
    for (const id of ids) {
      const t = this.tokenCache.get(id);
      if (t) out.set(id, t);
    }
    return out;
  }

  /** The path and mount type of the request that issued each token (its login or create), when known. */
  async issuingRequests(tokenIds: Iterable<number>): Promise<Map<number, { path: string | null; mount_type: string | null }>> {
    const missing = [...new Set(tokenIds)].filter((id) => !this.issueCache.has(id));
    for (const part of chunks(missing)) {
      const rows = await this.db
        .selectFrom('tokens')
        .innerJoin('accesses', 'accesses.request_id', 'tokens.issue_request_id')
        .select(['tokens.id as id', 'accesses.path as path', 'accesses.mount_type as mount_type'])
        .where('tokens.id', 'in', part)
        .execute();
      for (const r of rows) this.issueCache.set(r.id, { path: r.path, mount_type: r.mount_type });
      for (const id of part) if (!this.issueCache.has(id)) this.issueCache.set(id, null);
    }
    const out = new Map<number, { path: string | null; mount_type: string | null }>();
    for (const id of tokenIds) {
      const v = this.issueCache.get(id);
      if (v) out.set(id, v);
    }
    return out;
  }

  rememberTokens(rows: TokenRow[]): void {
    for (const r of rows) this.tokenCache.set(r.id, r);
  }
}

/** Milliseconds of a GitLab time ('2026-03-01T10:00:00.123Z' or with an offset), or null. */
export function gitlabMillis(value: string | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function keyMillis(key: string): number {
  return timeKeyToMillis(key);
}

/** JSON column → value, tolerating null and garbage. */
export function parseJson<T>(text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** The subject naming a token: its accessor HMAC when known, else keytrail's token row id. */
export function tokenSubject(accessor: string | null | undefined, tokenId: number | null | undefined): string | null {
  if (accessor) return `token:${accessor}`;
  if (tokenId !== null && tokenId !== undefined) return `token:#${tokenId}`;
  return null;
}

/** "5 minutes", "2 hours 3 minutes", "3 days" — for detail sentences. */
export function humanDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.max(1, Math.round(ms / 1000))} seconds`;
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}

/** "job 5002 of acme/payments-api" / "job 5002" / "a token of jwt-alice" — who did it, for detail sentences. */
export function actorPhrase(e: Evidence, displayName?: string | null): string {
  if (e.job_id !== null && e.job_id !== undefined) {
    return `job ${e.job_id}${e.project_path ? ` of ${e.project_path}` : e.project_id ? ` of project ${e.project_id}` : ''}`;
  }
  if (displayName) return `a token of ${displayName}`;
  return 'a token';
}

/** A token subject shortened for sentences: "token …80ef72fc" (the HMAC is unreadable anyway). */
export function shortToken(subject: string): string {
  const m = /^token:(?:hmac-sha256:)?(.*)$/.exec(subject.split(' ')[0] ?? '');
  if (!m) return subject;
  const id = m[1]!;
  return id.startsWith('#') ? `token ${id}` : `token …${id.slice(0, 8)}`;
}
