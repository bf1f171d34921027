/**
 * Query functions behind `keytrail query accesses|tokens|leases` (and used by reports/). Filters become
 * Kysely conditions with bound parameters (never pasted into SQL) that the (column, time_key, request_id)
 * indexes serve in order; rows stream from better-sqlite3's iterator so long listings use flat memory.
 */
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { KeytrailDb } from '../db/connection.js';
import type { Database } from '../db/schema/index.js';
import { dayRange } from '../db/time.js';
import { compileGlob, prefixUpperBound, type CompiledGlob } from './glob.js';
import { parseJson } from './claims.js';

export interface CommonFilters {
  /** GitLab project id, or its path (`group/app`). */
  project?: string | number;
  job?: number;
  pipeline?: number;
  /** GitLab user login. */
  user?: string;
  /** First UTC day, `YYYY-MM-DD`. */
  from?: string;
  /** Last UTC day (inclusive), `YYYY-MM-DD`. */
  to?: string;
  /** At most this many rows (no limit when absent). */
  limit?: number;
}

export interface AccessFilters extends CommonFilters {
  /** Vault path glob: `*` does not cross `/`, `**` does. */
  path?: string;
  attribution?: string;
  outcome?: string;
  /** Seen by this audit device. */
  device?: string;
  /** Only secret accesses (paths neither under sys/ nor under auth/). */
  secretOnly?: boolean;
}

export interface TokenFilters extends CommonFilters {
  attribution?: string;
}

export interface LeaseFilters extends CommonFilters {
  /** Lease id glob (a lease id starts with the path that issued it). */
  path?: string;
}

/** An access row of CONTRACT.md "Access rows" (JSON: ids are numbers, unknown values null). */
export interface AccessRecord {
  request_id: string;
  time: string;
  devices: string[];
  operation: string | null;
  path: string | null;
  namespace: string;
  mount_type: string | null;
  outcome: string;
  remote_address: string | null;
  display_name: string | null;
  entity_id: string | null;
  auth_mount: string | null;
  role: string | null;
  token_accessor: string | null;
  lease_id: string | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  ref: string | null;
  attribution: string;
  verified: string | null;
}

export interface TokenRecord {
  token_id: number;
  issued_at: string | null;
  issue_request_id: string | null;
  accessor: string | null;
  token_type: string | null;
  auth_mount: string | null;
  role: string | null;
  display_name: string | null;
  entity_id: string | null;
  policies: string[];
  ttl_seconds: number | null;
  orphan: boolean;
  parent_token_id: number | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  ref: string | null;
  attribution: string;
  verified: string | null;
  request_count: number;
  remote_addresses: string[];
  last_renewed_at: string | null;
  revoked_at: string | null;
  revoke_kind: string | null;
  ends_at: string | null;
  end_inferred: boolean;
  job_finished_at: string | null;
  outlived_job: boolean | null;
}

export interface LeaseRecord {
  lease_id: string;
  issued_at: string;
  issue_request_id: string;
  token_id: number | null;
  mount_type: string | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  renew_count: number;
  last_renewed_at: string | null;
  ttl_seconds: number;
  ended_at: string | null;
  end_kind: string | null;
  end_request_id: string | null;
  end_inferred: boolean;
  job_finished_at: string | null;
  outlived_job: boolean | null;
}

export const ACCESS_FIELDS: (keyof AccessRecord)[] = [
  'request_id',
  'time',
  'devices',
  'operation',
  'path',
  'namespace',
  'mount_type',
  'outcome',
  'remote_address',
  'display_name',
  'entity_id',
  'auth_mount',
  'role',
  'token_accessor',
  'lease_id',
  'job_id',
  'pipeline_id',
  'project_id',
  'project_path',
  'user_login',
  'ref',
  'attribution',
  'verified',
];

export const TOKEN_FIELDS: (keyof TokenRecord)[] = [
  'token_id',
  'issued_at',
  'issue_request_id',
  'accessor',
  'token_type',
  'auth_mount',
  'role',
  'display_name',
  'entity_id',
  'policies',
  'ttl_seconds',
  'orphan',
  'parent_token_id',
  'job_id',
  'pipeline_id',
  'project_id',
  'project_path',
  'user_login',
  'ref',
  'attribution',
  'verified',
  'request_count',
  'remote_addresses',
  'last_renewed_at',
  'revoked_at',
  'revoke_kind',
  'ends_at',
  'end_inferred',
  'job_finished_at',
  'outlived_job',
];

export const LEASE_FIELDS: (keyof LeaseRecord)[] = [
  'lease_id',
  'issued_at',
  'issue_request_id',
  'token_id',
  'mount_type',
  'job_id',
  'pipeline_id',
  'project_id',
  'project_path',
  'user_login',
  'renew_count',
  'last_renewed_at',
  'ttl_seconds',
  'ended_at',
  'end_kind',
  'end_request_id',
  'end_inferred',
  'job_finished_at',
  'outlived_job',
];

type ProjectTarget = { id: number } | { path: string };

/** `--project 42` or `--project group/app` (resolved to its id when GitLab knows the path). */
async function resolveProject(db: Kysely<Database>, project: string | number): Promise<ProjectTarget> {
  const text = String(project).trim();
  if (/^\d+$/.test(text)) return { id: Number(text) };
  const known = await db.selectFrom('gitlab_projects').select('id').where('path_with_namespace', '=', text).executeTakeFirst();
  if (known) return { id: known.id };
  const ref = await db.selectFrom('gitlab_project_refs').select('project_id').where('ref', '=', text).executeTakeFirst();
  return ref ? { id: ref.project_id } : { path: text };
}

/** Prepared statements by SQL text, per connection: the same query shape is compiled by SQLite once. */
type Statement = BetterSqlite3.Statement<unknown[]>;
const statements = new WeakMap<object, Map<string, Statement>>();

function prepared(handle: KeytrailDb, text: string): Statement {
  let cache = statements.get(handle.sqlite);
  if (!cache) statements.set(handle.sqlite, (cache = new Map()));
  let stmt = cache.get(text);
  if (!stmt) {
    if (cache.size > 200) cache.clear();
    stmt = handle.sqlite.prepare<unknown[]>(text);
    cache.set(text, stmt);
  }
  return stmt;
}

/** Streams the rows of a compiled Kysely query through better-sqlite3 (no buffering of the whole answer). */
function* iterate<T>(handle: KeytrailDb, query: { compile(): { sql: string; parameters: readonly unknown[] } }): Generator<T> {
  const compiled = query.compile();
  yield* prepared(handle, compiled.sql).iterate(...(compiled.parameters as unknown[])) as Iterable<T>;
}

function* limited<T>(rows: Iterable<T>, keep: (r: T) => boolean, limit: number | undefined): Generator<T> {
  if (limit === 0) return;
  let n = 0;
  for (const r of rows) {
    if (!keep(r)) continue;
    yield r;
    if (limit !== undefined && ++n >= limit) return;
  }
}

function applyPathGlob<O>(qb: SelectQueryBuilder<Database, 'accesses', O>, glob: CompiledGlob): SelectQueryBuilder<Database, 'accesses', O> {
  if (glob.exact) return qb.where('path', '=', glob.prefix);
  if (!glob.prefix) return qb;
  return qb.where('path', '>=', glob.prefix).where('path', '<', prefixUpperBound(glob.prefix));
}

/** An access row as stored: `devices` is the sorted names joined with ','. */
type AccessDbRow = Omit<AccessRecord, 'devices'> & { devices: string };

export function toAccessRecord(r: AccessDbRow): AccessRecord {
  return { ...r, devices: r.devices ? r.devices.split(',') : [] };
}

/**
 * Access rows matching the filters, ordered by time then request_id, as an iterator (streaming). The
 * project/user/path filters and the day range use the (column, time_key, request_id) indexes.
 */
export async function queryAccesses(handle: KeytrailDb, filters: AccessFilters = {}): Promise<IterableIterator<AccessRecord>> {
  let qb = handle.db.selectFrom('accesses').select(ACCESS_FIELDS);
  if (filters.project !== undefined) {
    const target = await resolveProject(handle.db, filters.project);
    qb = 'id' in target ? qb.where('project_id', '=', target.id) : qb.where('project_path', '=', target.path);
  }
  if (filters.job !== undefined) qb = qb.where('job_id', '=', filters.job);
  if (filters.pipeline !== undefined) qb = qb.where('pipeline_id', '=', filters.pipeline);
  if (filters.user !== undefined) qb = qb.where('user_login', '=', filters.user);
  if (filters.attribution !== undefined) qb = qb.where('attribution', '=', filters.attribution);
  if (filters.outcome !== undefined) qb = qb.where('outcome', '=', filters.outcome);
  if (filters.secretOnly) qb = qb.where('is_secret_access', '=', 1);
  const range = dayRange(filters.from, filters.to);
  if (range.from) qb = qb.where('time_key', '>=', range.from);
  if (range.to) qb = qb.where('time_key', '<=', range.to);
  if (filters.device !== undefined) {
    // Whole-name match inside the sorted, comma-joined list; the name is a bound parameter.
    qb = qb.where(sql<boolean>`instr(',' || devices || ',', ${`,${filters.device},`}) > 0`);
  }
  const glob = filters.path !== undefined ? compileGlob(filters.path) : null;
  if (glob) qb = applyPathGlob(qb, glob);
  qb = qb.orderBy('time_key').orderBy('request_id');
  const postFilter = glob !== null && !glob.exact;
  if (filters.limit !== undefined && !postFilter) qb = qb.limit(filters.limit);
  const rows = iterate<AccessDbRow>(handle, qb);
  const keep = postFilter ? (r: AccessDbRow) => r.path !== null && glob.regex.test(r.path) : () => true;
  return (function* () {
    for (const r of limited(rows, keep, filters.limit)) yield toAccessRecord(r);
  })();
}

/** The filters tokens and leases share: project, job, pipeline, user and issue day. */
async function whereCredential<T extends 'tokens' | 'leases', O>(
  handle: KeytrailDb,
  query: SelectQueryBuilder<Database, T, O>,
  filters: CommonFilters,
): Promise<SelectQueryBuilder<Database, T, O>> {
  // Both tables carry these columns; Kysely checks them against the union.
  let qb = query as unknown as SelectQueryBuilder<Database, 'tokens' | 'leases', O>;
  if (filters.project !== undefined) {
    const target = await resolveProject(handle.db, filters.project);
    qb = 'id' in target ? qb.where('project_id', '=', target.id) : qb.where('project_path', '=', target.path);
  }
  if (filters.job !== undefined) qb = qb.where('job_id', '=', filters.job);
  if (filters.pipeline !== undefined) qb = qb.where('pipeline_id', '=', filters.pipeline);
  if (filters.user !== undefined) qb = qb.where('user_login', '=', filters.user);
  const range = dayRange(filters.from, filters.to);
  if (range.from) qb = qb.where('issued_time_key', '>=', range.from);
  if (range.to) qb = qb.where('issued_time_key', '<=', range.to);
  return qb as unknown as SelectQueryBuilder<Database, T, O>;
}

export async function queryTokens(handle: KeytrailDb, filters: TokenFilters = {}): Promise<IterableIterator<TokenRecord>> {
  let qb = await whereCredential(handle, handle.db.selectFrom('tokens').selectAll(), filters);
  if (filters.attribution !== undefined) qb = qb.where('attribution', '=', filters.attribution);
  qb = qb.orderBy('issued_time_key').orderBy('id');
  if (filters.limit !== undefined) qb = qb.limit(filters.limit);
  const rows = iterate<Database['tokens'] & { id: number }>(handle, qb);
  return (function* () {
    for (const t of rows) {
      yield {
        token_id: t.id,
        issued_at: t.issued_at,
        issue_request_id: t.issue_request_id,
        accessor: t.accessor,
        token_type: t.token_type,
        auth_mount: t.auth_mount,
        role: t.role,
        display_name: t.display_name,
        entity_id: t.entity_id,
        policies: parseJson<string[]>(t.policies) ?? [],
        ttl_seconds: t.ttl_seconds,
        orphan: t.orphan === 1,
        parent_token_id: t.parent_token_id,
        job_id: t.job_id,
        pipeline_id: t.pipeline_id,
        project_id: t.project_id,
        project_path: t.project_path,
        user_login: t.user_login,
        ref: t.ref,
        attribution: t.attribution,
        verified: t.verified,
        request_count: t.request_count,
        remote_addresses: parseJson<string[]>(t.remote_addresses) ?? [],
        last_renewed_at: t.last_renewed_at,
        revoked_at: t.revoked_at,
        revoke_kind: t.revoke_kind,
        ends_at: t.ends_at,
        end_inferred: t.end_inferred === 1,
        job_finished_at: t.job_finished_at,
        outlived_job: t.outlived_job === null ? null : t.outlived_job === 1,
      };
    }
  })();
}

export async function queryLeases(handle: KeytrailDb, filters: LeaseFilters = {}): Promise<IterableIterator<LeaseRecord>> {
  let qb = await whereCredential(handle, handle.db.selectFrom('leases').selectAll(), filters);
  // A lease id is its issuing path plus a random suffix: `--path database/creds/app` matches its leases.
  const glob = filters.path !== undefined ? compileGlob(filters.path) : null;
  if (glob?.prefix) qb = qb.where('lease_id', '>=', glob.prefix).where('lease_id', '<', prefixUpperBound(glob.prefix));
  qb = qb.orderBy('issued_time_key').orderBy('lease_id');
  const postFilter = glob !== null;
  if (filters.limit !== undefined && !postFilter) qb = qb.limit(filters.limit);
  const rows = iterate<Database['leases']>(handle, qb);
  const keep = postFilter ? (r: Database['leases']) => globMatchesLease(glob, r.lease_id) : () => true;
  return (function* () {
    for (const l of limited(rows, keep, filters.limit)) {
      yield {
        lease_id: l.lease_id,
        issued_at: l.issued_at,
        issue_request_id: l.issue_request_id,
        token_id: l.token_id,
        mount_type: l.mount_type,
        job_id: l.job_id,
        pipeline_id: l.pipeline_id,
        project_id: l.project_id,
        project_path: l.project_path,
        user_login: l.user_login,
        renew_count: l.renew_count,
        last_renewed_at: l.last_renewed_at,
        ttl_seconds: l.ttl_seconds,
        ended_at: l.ended_at,
        end_kind: l.end_kind,
        end_request_id: l.end_request_id,
        end_inferred: l.end_inferred === 1,
        job_finished_at: l.job_finished_at,
        outlived_job: l.outlived_job === null ? null : l.outlived_job === 1,
      };
    }
  })();
}

/** A lease id matches a path glob itself, or as the issuing path followed by its random suffix. */
function globMatchesLease(glob: CompiledGlob, leaseId: string): boolean {
  if (glob.regex.test(leaseId)) return true;
  const slash = leaseId.lastIndexOf('/');
  return slash > 0 && glob.regex.test(leaseId.slice(0, slash));
}
