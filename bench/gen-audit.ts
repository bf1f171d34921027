/**
 * Generates realistic Vault audit lines (about 1 KB each, Vault 1.17+ key order): GitLab CI jobs logging in
 * with JWT (claim-mapped metadata), reading KV v2 secrets and dynamic database credentials (clear lease ids),
 * with HMAC'd tokens, accessors and data as a hashing device writes them. Deterministic for a seed. Used by
 * the ingest benchmark and by the ingest tests (which need many lines, or a log_raw device).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

export interface GenOptions {
  lines: number;
  seed?: number;
  /** Time of the first line (default 2026-03-02T08:00:00Z); lines are ~1.3 ms apart. */
  start?: Date;
  /** The device's HMAC salt: two devices logging the same requests differ only here and in times. */
  salt?: string;
  /** Write tokens and accessors in clear (a `log_raw=true` device). */
  logRaw?: boolean;
  /** Shift of this device's time stamps, in nanoseconds (each device stamps its own time). */
  timeShiftNs?: number;
}

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function digest(...parts: (string | number)[]): Buffer {
  return createHash('sha256').update(parts.join('|')).digest();
}

function uuid(seed: number, n: number, kind: string): string {
  const h = digest(seed, n, kind).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function base62(buf: Buffer, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += B62[buf[i % buf.length]! % 62];
  return s;
}

function timeAt(start: number, index: number, shiftNs: number): string {
  const ns = BigInt(start) * 1_000_000n + BigInt(index) * 1_300_017n + BigInt(shiftNs);
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${new Date(ms).toISOString().slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

interface Job {
  n: number;
  projectId: number;
  pipelineId: number;
  jobId: number;
  user: string;
  token: string;
  accessor: string;
  entity: string;
  ip: string;
}

/** Audit lines, without newlines. */
export function* auditLines(opts: GenOptions): Generator<string> {
  const seed = opts.seed ?? 1;
  const salt = opts.salt ?? 'device-a';
  const start = (opts.start ?? new Date('2026-03-02T08:00:00Z')).getTime();
  const shift = opts.timeShiftNs ?? 0;
  const hmac = (v: string) => (opts.logRaw ? v : `hmac-sha256:${createHash('sha256').update(salt).update(v).digest('hex')}`);
  let index = 0;
  let jobN = 0;
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  while (index < opts.lines) {
    const d = digest(seed, jobN, 'job');
    const job: Job = {
      n: jobN,
      projectId: 100 + (d[0]! % 40),
      pipelineId: 50_000 + Math.floor(jobN / 4),
      jobId: 900_000 + jobN,
      user: users[d[1]! % users.length]!,
      token: `hvs.CAESI${base62(digest(seed, jobN, 'token'), 86)}`,
      accessor: base62(digest(seed, jobN, 'accessor'), 24),
      entity: uuid(seed, jobN, 'entity'),
      ip: `10.20.${d[2]! % 8}.${10 + (d[3]! % 200)}`,
    };
    jobN++;
    const metadata = {
      job_id: String(job.jobId),
      pipeline_id: String(job.pipelineId),
      project_id: String(job.projectId),
      project_path: `acme/service-${job.projectId}`,
      ref: 'main',
      role: `ci-${job.projectId}`,
      user_login: job.user,
    };
    const display = `jwt-${job.user}@acme.example`;
    const policies = ['default', `ci-${job.projectId}-read`];
    const login = uuid(seed, job.n, 'login');
    const baseReq = (path: string, mountType: string, mountPoint: string, id: string) => ({
      id,
      mount_accessor: `${mountType}_${base62(digest(mountPoint), 8).toLowerCase()}`,
      mount_class: mountPoint.startsWith('auth/') ? 'auth' : 'secret',
      mount_point: mountPoint,
      mount_type: mountType,
      namespace: { id: 'root' },
      remote_address: job.ip,
      remote_port: 40000 + (job.n % 20000),
      headers: { 'x-correlation-id': [String(job.jobId)] },
    });
    const callerAuth = {
      accessor: hmac(job.accessor),
      client_token: hmac(job.token),
      display_name: display,
      entity_id: job.entity,
      metadata,
      policies,
      policy_results: { allowed: true },
      token_issue_time: timeAt(start, index, 0).replace(/\.\d+Z$/, 'Z'),
      token_policies: policies,
      token_ttl: 3600,
      token_type: 'service',
    };
    const pairs: object[][] = [];
    // JWT login.
    const loginReq = {
      ...baseReq('auth/jwt/login', 'jwt', 'auth/jwt/', login),
      operation: 'update',
      path: 'auth/jwt/login',
      data: { jwt: hmac(`eyJhbGciOiJSUzI1NiJ9.job-${job.jobId}`), role: hmac(metadata.role) },
    };
    pairs.push([
      { auth: { policy_results: { allowed: true }, token_type: 'default' }, request: loginReq, type: 'request' },
      {
        auth: { ...callerAuth, entity_created: job.n % 7 === 0 },
        request: loginReq,
        response: {
          auth: { accessor: hmac(job.accessor), client_token: hmac(job.token), display_name: display, entity_id: job.entity, metadata, policies, token_policies: policies, token_ttl: 3600, token_type: 'service' },
          mount_accessor: 'auth_jwt_1a2b3c4d',
          mount_class: 'auth',
          mount_point: 'auth/jwt/',
          mount_type: 'jwt',
        },
        type: 'response',
      },
    ]);
    // KV v2 read.
    const kvReq = {
      ...baseReq('kv/data/x', 'kv', 'kv/', uuid(seed, job.n, 'kv')),
      client_id: job.entity,
      client_token: hmac(`inner-${job.token}`),
      client_token_accessor: hmac(job.accessor),
      operation: 'read',
      path: `kv/data/service-${job.projectId}/production/db`,
    };
    pairs.push([
      { auth: callerAuth, request: kvReq, type: 'request' },
      {
        auth: callerAuth,
        request: kvReq,
        response: { data: { data: { password: hmac(`pw-${job.projectId}`), username: hmac('app') }, metadata: { created_time: hmac('2026-01-01T00:00:00Z'), version: 3 } }, mount_type: 'kv' },
        type: 'response',
      },
    ]);
    // Dynamic database credentials.
    const dbReq = {
      ...baseReq('database/creds/x', 'database', 'database/', uuid(seed, job.n, 'db')),
      client_id: job.entity,
      client_token: hmac(`inner-${job.token}`),
      client_token_accessor: hmac(job.accessor),
      operation: 'read',
      path: `database/creds/service-${job.projectId}`,
    };
    pairs.push([
      { auth: callerAuth, request: dbReq, type: 'request' },
      {
        auth: callerAuth,
        request: dbReq,
        response: {
          data: { password: hmac(`db-${job.n}`), username: hmac(`v-jwt-${job.n}`) },
          mount_type: 'database',
          secret: { lease_id: `database/creds/service-${job.projectId}/${base62(digest(seed, job.n, 'lease'), 24)}` },
        },
        type: 'response',
      },
    ]);
    // Token revoke-self at the end of the job, now and then.
    if (job.n % 3 === 0) {
      const revReq = { ...baseReq('auth/token/revoke-self', 'token', 'auth/token/', uuid(seed, job.n, 'revoke')), client_token: hmac(`inner-${job.token}`), client_token_accessor: hmac(job.accessor), operation: 'update', path: 'auth/token/revoke-self' };
      pairs.push([{ auth: callerAuth, request: revReq, type: 'request' }, { auth: callerAuth, request: revReq, type: 'response' }]);
    }
    for (const pair of pairs) {
      for (const e of pair) {
        if (index >= opts.lines) return;
        // Vault 1.17+: keys in alphabetical order, so `time` and `type` come last.
        yield JSON.stringify({ ...e, time: timeAt(start, index, shift) }).replace(/,"type":"(request|response)","time":("[^"]+")\}$/, ',"time":$2,"type":"$1"}');
        index++;
      }
    }
  }
}

/** Writes `opts.lines` audit lines to `path`; returns bytes written. */
export async function writeAuditFile(path: string, opts: GenOptions): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  let buf: string[] = [];
  for (const line of auditLines(opts)) {
    buf.push(line);
    if (buf.length === 2000) {
      const text = buf.join('\n') + '\n';
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await once(out, 'drain');
      buf = [];
    }
  }
  if (buf.length) {
    const text = buf.join('\n') + '\n';
    bytes += Buffer.byteLength(text);
    out.write(text);
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
