import { Rng, nameHex, nameUuid } from './prng.js';
import { KV_LAYOUT, kvPath, type Organisation, type Project, type Runner, type User, type VaultRole } from './org.js';
import { jobJson, pipelineJson, type JobRec, type PipelineRec } from './gitlab.js';
import { hmac, hmacCached, type Device, type Mount, type Token, type VaultReq } from './vault.js';
import { DAY_US, HOUR_US, MINUTE_US, SECOND_US, type SimTime } from './time.js';
import type { LineWriter } from './sinks.js';

/** A queued output event: a Vault request (both entries) or a Vault server-log line. */
export interface SimEvent {
  t: SimTime;
  seq: number;
  req?: VaultReq;
  log?: { text: string; node?: string };
}

export interface GroundTruthAnomaly {
  rule: string;
  request_ids: string[];
  job_id: number | null;
  /** Human-readable recipe (not part of the contract; helps whoever checks the detector). */
  note: string;
}

export interface Window {
  from: number;
  to: number;
}

export const NODES = ['vault-1', 'vault-2'] as const;

/**
 * Shared state of one simulation run: the organisation, the random streams, id counters, the queue of events
 * waiting to be written in time order, and the writers of the GitLab state.
 */
export class Sim {
  readonly rngPlan: Rng;
  readonly rngJob: Rng;
  readonly rngVault: Rng;
  readonly rngIds: Rng;
  readonly rngHuman: Rng;
  private seq = 0;
  nextJobId = 4_210_000;
  nextPipelineId = 981_000;
  pending: SimEvent[] = [];
  readonly anomalies: GroundTruthAnomaly[] = [];
  private readonly seenAliases = new Set<string>();
  pipelines = 0;
  jobs = 0;
  lastActivity = new Map<number, number>();
  /** When node 2 is active instead of node 1. */
  failover: Window;
  /** socket device silent (audit-gap anomaly). */
  gap: Window | null = null;
  /** The log_raw device exists (raw-audit-logging anomaly). */
  rawWindow: Window | null = null;
  /** Requests that only one device logged during the gap, and those the raw device logged. */
  gapRequests: string[] = [];
  rawRequests: string[] = [];

  constructor(
    readonly seed: number,
    readonly org: Organisation,
    readonly days: number,
    readonly devices: { file: Device; socket: Device; raw: Device },
    readonly pipelineOut: LineWriter,
    readonly jobOut: LineWriter,
  ) {
    this.rngPlan = new Rng(seed, 'plan');
    this.rngJob = new Rng(seed, 'job');
    this.rngVault = new Rng(seed, 'vault');
    this.rngIds = new Rng(seed, 'ids');
    this.rngHuman = new Rng(seed, 'human');
    const fd = Math.min(days - 1, Math.floor(days / 2));
    const start = org.startUs + fd * DAY_US + 13 * HOUR_US + this.rngPlan.int(0, 50) * MINUTE_US;
    this.failover = { from: start, to: start + 3 * HOUR_US + this.rngPlan.int(0, 90) * MINUTE_US };
  }

  get startUs(): number {
    return this.org.startUs;
  }

  get endUs(): number {
    return this.org.startUs + this.days * DAY_US;
  }

  time(us: number): SimTime {
    // Recipes schedule on whole seconds; real arrivals are not.
    const jitter = us % SECOND_US === 0 ? this.rngVault.int(1, 999_999) : 0;
    return { us: Math.round(us) + jitter, ns: this.rngVault.chance(0.1) ? 0 : this.rngVault.int(0, 999) };
  }

  requestId(): string {
    return this.rngIds.uuid();
  }

  /** Runs `fn` and returns the Vault requests it queued (anomaly recipes record them as evidence). */
  capture(fn: () => void): VaultReq[] {
    const from = this.pending.length;
    fn();
    return this.pending.slice(from).flatMap((e) => (e.req ? [e.req] : []));
  }

  push(r: VaultReq): VaultReq {
    this.pending.push({ t: r.t, seq: this.seq++, req: r });
    return r;
  }

  serverLog(us: number, text: string, node?: string): void {
    this.pending.push({ t: { us: Math.round(us), ns: 0 }, seq: this.seq++, log: node ? { text, node } : { text } });
  }

  activeNode(us: number): string {
    return us >= this.failover.from && us < this.failover.to ? NODES[1] : NODES[0];
  }

  port(): number {
    return this.rngVault.int(32768, 60999);
  }

  /** Entity of an alias, and whether this login creates it. */
  entity(mount: string, alias: string): { id: string; created: boolean } {
    const key = `${mount}\u0000${alias}`;
    const created = !this.seenAliases.has(key);
    this.seenAliases.add(key);
    return { id: nameUuid(this.seed, 'entity', mount, alias), created };
  }

  newServiceToken(fields: Omit<Token, 'type' | 'external' | 'inner' | 'accessor'>): Token {
    const r = this.rngVault;
    return { type: 'service', external: `hvs.CAESI${r.base62(86)}`, inner: `s.${r.base62(24)}`, accessor: r.base62(24), ...fields };
  }

  newBatchToken(fields: Omit<Token, 'type' | 'external' | 'inner' | 'accessor'>): Token {
    const v = `hvb.AAAAAQ${this.rngVault.base62(110)}`;
    return { type: 'batch', external: v, inner: v, ...fields };
  }

  /** `expiration: revoked lease` line (Vault's operational log, INFO). */
  leaseRevokedLog(us: number, leaseId: string): void {
    this.serverLog(us, `[INFO]  expiration: revoked lease: lease_id=${leaseId}`);
  }

  tokenLeaseId(mountPath: string, tok: Token): string {
    return `${mountPath}h${nameHex(64, this.seed, tok.accessor ?? tok.external)}`;
  }

  // ---------- GitLab ----------

  async writePipeline(p: PipelineRec, jobs: JobRec[]): Promise<void> {
    await this.pipelineOut.write(`${JSON.stringify(pipelineJson(p))}\n`);
    for (const j of jobs) await this.jobOut.write(`${JSON.stringify(jobJson(j))}\n`);
    this.pipelines++;
    this.jobs += jobs.length;
    const last = p.finishedUs ?? p.createdUs;
    if ((this.lastActivity.get(p.project.id) ?? 0) < last) this.lastActivity.set(p.project.id, last);
  }

  newPipeline(project: Project, o: { ref: string; source: string; user: User; createdUs: number; tag?: boolean; name?: string | null; sha?: string; iidProject?: Project }): PipelineRec {
    const r = this.rngJob;
    const owner = o.iidProject ?? project;
    const sha = o.sha ?? r.hex(40);
    return {
      id: this.nextPipelineId++,
      iid: ++owner.pipelineIid,
      project,
      sha,
      ref: o.ref,
      source: o.source,
      status: 'success',
      name: o.name ?? null,
      tag: o.tag ?? false,
      user: o.user,
      createdUs: o.createdUs,
      startedUs: null,
      finishedUs: null,
      commit: { sha, beforeSha: r.hex(40), title: r.pick(COMMIT_TITLES), author: o.user, createdUs: o.createdUs - r.int(60, 3600) * SECOND_US },
    };
  }

  runnerFor(runners: Runner[]): { runner: Runner; manager: Runner['managers'][number]; ip: string } {
    const r = this.rngJob;
    const runner = r.pick(runners);
    const manager = r.pick(runner.managers);
    const ip = manager.ip ?? `${runner.cidr.split('.').slice(0, 3).join('.')}.${r.int(2, 250)}`;
    return { runner, manager, ip };
  }

  // ---------- Vault: CI ----------

  /** JWT claims of a job (strings only, as GitLab sends them), with the fork's project for fork MR pipelines. */
  claims(job: JobRec, claimProject: Project, refClaim: string, refType: 'branch' | 'tag', refProtected: boolean): Record<string, string> {
    const p = job.pipeline;
    const jobProject = p.project;
    return {
      job_id: String(job.id),
      job_project_id: String(jobProject.id),
      job_project_path: jobProject.fullPath,
      namespace_path: claimProject.namespace.full_path,
      pipeline_id: String(p.id),
      pipeline_source: p.source,
      project_id: String(claimProject.id),
      project_path: claimProject.fullPath,
      ref: refClaim,
      ref_protected: String(refProtected),
      ref_type: refType,
      user_email: p.user.email,
      user_login: p.user.username,
    };
  }

  /**
   * A JWT login: returns the issued token. `claims` are the id_token's; with `claim_mappings` they become the
   * token metadata (sorted, as Go encodes maps), without them only `role` remains.
   */
  jwtLogin(o: {
    us: number;
    role: VaultRole;
    claims: Record<string, string>;
    ip: string;
    port: number;
    jobId: number | null;
    headers?: Record<string, string[]>;
    ttl?: number;
    forceFail?: string;
  }): { token: Token | null; req: VaultReq } {
    const r = this.rngVault;
    const jwt = `eyJhbGciOiJSUzI1NiIsImtpZCI6I${r.base62(40)}.${r.base62(60)}.${r.base62(40)}`;
    const roleName = o.role.name;
    const base: VaultReq = {
      t: this.time(o.us),
      lat: r.int(4_000, 45_000),
      id: this.requestId(),
      jobId: o.jobId,
      mount: this.org.mounts.jwt,
      op: 'update',
      path: 'auth/jwt/login',
      remote: o.ip,
      port: o.port,
      data: (dev) => ({ jwt: hmac(dev, jwt), role: hmacCached(dev, roleName) }),
      login: true,
    };
    if (o.headers) base.headers = o.headers;
    if (o.forceFail) {
      base.respError = o.forceFail;
      this.push(base);
      return { token: null, req: base };
    }
    const alias = o.claims[o.role.userClaim] ?? '';
    const ent = this.entity('jwt', alias);
    const metadata: Record<string, string> = {};
    const src: Record<string, string> = o.role.claimMappings ? { ...o.claims, role: roleName } : { role: roleName };
    for (const k of Object.keys(src).sort()) {
      if (k === 'user_email') continue; // the display name carries it; not mapped
      metadata[k] = src[k]!;
    }
    const fields = {
      displayName: `jwt-${alias}`,
      policies: o.role.policies,
      metadata,
      entityId: ent.id,
      ttl: o.ttl ?? o.role.tokenTtl,
      issueUs: o.us + base.lat / 2,
    };
    const token = o.role.tokenType === 'batch' ? this.newBatchToken(fields) : this.newServiceToken(fields);
    base.issued = token;
    base.entityCreated = ent.created;
    this.push(base);
    return { token, req: base };
  }

  /** A request made with a token. */
  call(o: {
    us: number;
    token: Token | undefined;
    mount: Mount;
    op: string;
    path: string;
    ip: string;
    port: number;
    jobId: number | null;
    data?: (dev: Device) => Record<string, unknown>;
    respData?: (dev: Device) => Record<string, unknown>;
    headers?: Record<string, string[]>;
    denied?: boolean;
    noResponse?: boolean;
    leaseId?: string;
    issued?: Token;
    latMin?: number;
    latMax?: number;
  }): VaultReq {
    const r = this.rngVault;
    const req: VaultReq = {
      t: this.time(o.us),
      lat: r.int(o.latMin ?? 300, o.latMax ?? 9_000),
      id: this.requestId(),
      jobId: o.jobId,
      mount: o.mount,
      op: o.op,
      path: o.path,
      remote: o.ip,
      port: o.port,
    };
    if (o.token) req.token = o.token;
    if (o.data) req.data = o.data;
    if (o.respData) req.respData = o.respData;
    if (o.headers) req.headers = o.headers;
    if (o.denied) req.denied = true;
    if (o.noResponse) req.noResponse = true;
    if (o.leaseId) req.leaseId = o.leaseId;
    if (o.issued) req.issued = o.issued;
    return this.push(req);
  }

  /** Response data of a KV v2 read (values HMAC'd per device, `custom_metadata` null). */
  kvData(path: string): (dev: Device) => Record<string, unknown> {
    const [, , , env, key] = path.split('/');
    const fields = (env && key && KV_LAYOUT[env]?.[key]) || ['value'];
    const version = 1 + (parseInt(nameHex(2, this.seed, path), 16) % 6);
    const created = `2026-0${1 + (parseInt(nameHex(1, this.seed, path, 'm'), 16) % 2)}-1${parseInt(nameHex(1, this.seed, path, 'd'), 16) % 10}T09:${nameHex(2, path).replace(/[a-f]/g, '1').slice(0, 2)}:07.${nameHex(6, path).replace(/[a-f]/g, '3')}Z`;
    const seed = this.seed;
    return (dev) => {
      const data: Record<string, string> = {};
      for (const f of fields) data[f] = hmacCached(dev, `${f === 'username' ? 'svc' : 's3cr3t'}-${nameHex(20, seed, path, f)}`);
      return {
        data,
        metadata: { created_time: hmacCached(dev, created), custom_metadata: null, deletion_time: hmacCached(dev, ''), destroyed: false, version },
      };
    };
  }

  /** The runner's `secrets:` flow for one secret: login + read, never revoked (the token expires by TTL). */
  runnerSecret(job: JobRec, role: VaultRole, claims: Record<string, string>, us: number, path: string, ip: string): { token: Token | null; reqs: VaultReq[] } {
    const r = this.rngVault;
    const port = this.port();
    const login = this.jwtLogin({ us, role, claims, ip, port, jobId: job.id });
    const tok = login.token!;
    const read = this.call({
      us: us + login.req.lat + r.int(3_000, 40_000),
      token: tok,
      mount: this.org.mounts.kv,
      op: 'read',
      path,
      ip,
      port,
      jobId: job.id,
      respData: this.kvData(path),
    });
    this.tokenExpires(tok, []);
    return { token: tok, reqs: [login.req, read] };
  }

  /** Server-log lines when a token expires by TTL: its own lease and the leases still open under it. */
  tokenExpires(tok: Token, openLeases: string[], mountPath = 'auth/jwt/login/'): void {
    if (tok.type === 'batch' || !tok.ttl) return;
    const end = tok.issueUs + tok.ttl * SECOND_US;
    for (const l of openLeases) this.leaseRevokedLog(end + this.rngVault.int(1_000, 90_000), l);
    this.leaseRevokedLog(end + this.rngVault.int(100_000, 400_000), this.tokenLeaseId(mountPath, tok));
  }

  /** Dynamic database credentials: the lease id starts with the request path. */
  dbCreds(o: { us: number; token: Token; role: string; ip: string; port: number; jobId: number | null; headers?: Record<string, string[]> }): { req: VaultReq; leaseId: string } {
    const r = this.rngVault;
    const path = `database/creds/${o.role}`;
    const leaseId = `${path}/${r.base62(24)}`;
    const user = `v-jwt-${o.role.slice(0, 10)}-${r.base62(20)}-${Math.floor(o.us / 1e6)}`;
    const pw = r.base62(20);
    const req = this.call({
      us: o.us, token: o.token, mount: this.org.mounts.database, op: 'read', path, ip: o.ip, port: o.port, jobId: o.jobId,
      respData: (dev) => ({ password: hmac(dev, pw), username: hmac(dev, user) }),
      leaseId,
      latMin: 20_000,
      latMax: 180_000,
      ...(o.headers ? { headers: o.headers } : {}),
    });
    return { req, leaseId };
  }

  leaseRevoke(o: { us: number; token: Token; leaseId: string; ip: string; port: number; jobId: number | null; headers?: Record<string, string[]> }): VaultReq {
    const req = this.call({
      us: o.us, token: o.token, mount: this.org.mounts.sys, op: 'update', path: `sys/leases/revoke/${o.leaseId}`,
      ip: o.ip, port: o.port, jobId: o.jobId, data: () => ({ sync: false }),
      respData: (dev) => ({ http_content_type: hmacCached(dev, 'application/json'), http_status_code: 202 }),
      ...(o.headers ? { headers: o.headers } : {}),
    });
    this.leaseRevokedLog(o.us + this.rngVault.int(20_000, 300_000), o.leaseId);
    return req;
  }

  revokeSelf(o: { us: number; token: Token; ip: string; port: number; jobId: number | null; headers?: Record<string, string[]> }, openLeases: string[] = []): VaultReq {
    const req = this.call({
      us: o.us, token: o.token, mount: this.org.mounts.token, op: 'update', path: 'auth/token/revoke-self',
      ip: o.ip, port: o.port, jobId: o.jobId, noResponse: true, ...(o.headers ? { headers: o.headers } : {}),
    });
    for (const l of openLeases) this.leaseRevokedLog(o.us + this.rngVault.int(10_000, 200_000), l);
    this.leaseRevokedLog(o.us + this.rngVault.int(200_000, 500_000), this.tokenLeaseId('auth/jwt/login/', o.token));
    return req;
  }

  /**
   * A script in the job: `vault write auth/jwt/login`, `vault read database/creds/...` (or a KV read), and at
   * the end — for most jobs — `vault lease revoke` and `vault token revoke -self`.
   */
  scriptedFlow(job: JobRec, role: VaultRole, claims: Record<string, string>, o: { dbRole: string | null; kvPath: string; revoke: boolean; headers: boolean }): void {
    const r = this.rngVault;
    const ip = job.sourceIp!;
    const port = this.port();
    const headers = o.headers ? { 'x-correlation-id': [String(job.id)] } : undefined;
    const start = job.startedUs! + r.int(2_000, 8_000) * 1000;
    const login = this.jwtLogin({ us: start, role, claims, ip, port, jobId: job.id, ...(headers ? { headers } : {}) });
    const tok = login.token!;
    let t = start + login.req.lat + r.int(50_000, 900_000);
    let lease: string | null = null;
    if (o.dbRole) {
      const d = this.dbCreds({ us: t, token: tok, role: o.dbRole, ip, port, jobId: job.id, ...(headers ? { headers } : {}) });
      lease = d.leaseId;
      t += d.req.lat + r.int(100_000, 2_000_000);
      const kv = this.call({ us: t, token: tok, mount: this.org.mounts.kv, op: 'read', path: o.kvPath, ip, port, jobId: job.id, respData: this.kvData(o.kvPath), ...(headers ? { headers } : {}) });
      t += kv.lat;
    } else {
      this.call({ us: t, token: tok, mount: this.org.mounts.kv, op: 'read', path: o.kvPath, ip, port, jobId: job.id, respData: this.kvData(o.kvPath), ...(headers ? { headers } : {}) });
    }
    const end = job.finishedUs! - r.int(300_000, 1_500_000);
    if (o.revoke && tok.type === 'service' && end > t) {
      const p2 = this.port();
      let te = end;
      if (lease) {
        const rv = this.leaseRevoke({ us: te, token: tok, leaseId: lease, ip, port: p2, jobId: job.id, ...(headers ? { headers } : {}) });
        te += rv.lat + r.int(20_000, 90_000);
      }
      this.revokeSelf({ us: te, token: tok, ip, port: p2, jobId: job.id, ...(headers ? { headers } : {}) });
    } else {
      this.tokenExpires(tok, lease ? [lease] : []);
    }
  }

  // ---------- pipelines ----------

  /**
   * Generates a pipeline (and its jobs) from a template, runs their Vault activity and writes them to the
   * GitLab state. Returns the records (anomaly recipes use them).
   */
  async runPipeline(spec: PipelineSpec): Promise<{ pipeline: PipelineRec; jobs: JobRec[] }> {
    const r = this.rngJob;
    const { project } = spec;
    const p = this.newPipeline(project, spec);
    const jobs: JobRec[] = [];
    let t = spec.createdUs + r.int(1, 12) * SECOND_US;
    p.startedUs = null;
    let stopped: 'failed' | 'canceled' | null = null;
    const cancelAt = !spec.noCancel && r.chance(0.015) ? r.int(0, spec.stages.length - 1) : -1;
    for (const [si, [stage, names]] of spec.stages.entries()) {
      let stageEnd = t;
      for (const name of names) {
        const tmpl = JOB_TEMPLATES[name] ?? { min: 30, max: 120 };
        const job: JobRec = {
          id: this.nextJobId++, name, stage, pipeline: p, status: 'success', createdUs: spec.createdUs,
          startedUs: null, finishedUs: null, runner: null, manager: null, sourceIp: null, retried: false,
          allowFailure: name === 'lint',
        };
        jobs.push(job);
        if (stopped) {
          job.status = 'skipped';
          continue;
        }
        let attempt: JobRec = job;
        for (let n = 0; n < 3; n++) {
          const run = this.runnerFor(tmpl.deploy ? [project.deployRunner] : project.ciRunners);
          attempt.runner = run.runner;
          attempt.manager = run.manager;
          attempt.sourceIp = run.ip;
          attempt.startedUs = t + r.int(1_000, 25_000) * 1000;
          if (p.startedUs === null) p.startedUs = attempt.startedUs;
          const dur = r.int(tmpl.min, tmpl.max) * SECOND_US + r.int(0, 999_999);
          attempt.finishedUs = attempt.startedUs + dur;
          if (si === cancelAt) {
            attempt.status = 'canceled';
            attempt.finishedUs = attempt.startedUs + Math.floor(dur / 3);
          } else if (r.chance(spec.failRate ?? (tmpl.deploy ? 0.02 : 0.05))) {
            attempt.status = 'failed';
            attempt.failureReason = 'script_failure';
          }
          spec.vault?.(this, attempt, spec);
          stageEnd = Math.max(stageEnd, attempt.finishedUs);
          if (attempt.status === 'failed' && !attempt.allowFailure && n < 2 && r.chance(0.5)) {
            // Retried by a person: the failed attempt stays, hidden unless include_retried.
            attempt.retried = true;
            const retry: JobRec = { ...attempt, id: this.nextJobId++, status: 'success', retried: false, createdUs: attempt.finishedUs + r.int(20, 300) * SECOND_US };
            delete retry.failureReason;
            jobs.push(retry);
            attempt = retry;
            t = retry.createdUs;
            continue;
          }
          break;
        }
        if (attempt.status === 'canceled') stopped = 'canceled';
        else if (attempt.status === 'failed' && !attempt.allowFailure) stopped = 'failed';
      }
      t = stageEnd + r.int(1, 10) * SECOND_US;
    }
    p.status = stopped ?? 'success';
    p.finishedUs = Math.max(...jobs.map((j) => j.finishedUs ?? 0), spec.createdUs + SECOND_US);
    if (p.startedUs === null) p.startedUs = spec.createdUs + SECOND_US;
    await this.writePipeline(p, jobs);
    return { pipeline: p, jobs };
  }
}

export interface PipelineSpec {
  project: Project;
  ref: string;
  /** The `ref` claim (the source branch for merge-request pipelines). */
  refClaim: string;
  refType: 'branch' | 'tag';
  refProtected: boolean;
  source: string;
  user: User;
  createdUs: number;
  tag?: boolean;
  name?: string | null;
  sha?: string;
  stages: [string, string[]][];
  /** The project named by the `project_*` claims (the fork for fork MR pipelines). */
  claimProject?: Project;
  iidProject?: Project;
  failRate?: number;
  noCancel?: boolean;
  /** Vault activity of each job attempt. */
  vault?: (sim: Sim, job: JobRec, spec: PipelineSpec) => void;
}

interface JobTemplate {
  min: number;
  max: number;
  deploy?: boolean;
}

/** Durations in seconds. Jobs that revoke their scripted token finish within that token's TTL. */
export const JOB_TEMPLATES: Record<string, JobTemplate> = {
  build: { min: 40, max: 200 },
  lint: { min: 15, max: 60 },
  'unit-tests': { min: 60, max: 300 },
  'integration-tests': { min: 60, max: 270 },
  'deploy-staging': { min: 40, max: 110, deploy: true },
  'deploy-production': { min: 40, max: 105, deploy: true },
  'nightly-e2e': { min: 120, max: 600 },
  'dependency-scan': { min: 30, max: 120 },
  'smoke-tests': { min: 20, max: 60 },
  'terraform-plan': { min: 30, max: 150 },
  'terraform-validate': { min: 10, max: 40 },
};

const COMMIT_TITLES = [
  'Fix flaky retry in payment client', 'Bump dependencies', 'Add metrics for queue depth', 'Refactor config loading',
  'Handle empty cart in checkout', 'Update CI cache key', 'Tighten input validation', 'Rotate signing key reference',
  'Improve error messages', 'Add integration test for refunds', 'Merge branch feature into main', 'Release prep',
];

/** The default CI behaviour of each job name (what the project's .gitlab-ci.yml would do with Vault). */
export function defaultJobVault(sim: Sim, job: JobRec, spec: PipelineSpec): void {
  if (job.startedUs === null || job.finishedUs === null || !job.sourceIp) return;
  const p = spec.project;
  const r = sim.rngVault;
  const claims = sim.claims(job, spec.claimProject ?? p, spec.refClaim, spec.refType, spec.refProtected);
  const secretsAt = job.startedUs + r.int(200, 2_500) * 1000;
  const revokes = job.status === 'success' ? r.chance(0.88) : job.status === 'failed' ? r.chance(0.5) : false;
  switch (job.name) {
    case 'build':
      sim.runnerSecret(job, p.roles.ci, claims, secretsAt, kvPath(p, 'ci', 'registry'), job.sourceIp);
      break;
    case 'unit-tests':
      if (r.chance(0.5)) sim.runnerSecret(job, p.roles.ci, claims, secretsAt, kvPath(p, 'staging', 'api-key'), job.sourceIp);
      break;
    case 'integration-tests':
      sim.scriptedFlow(job, p.roles.ci, claims, { dbRole: p.hasDb ? `${p.slug}-ci` : null, kvPath: kvPath(p, 'staging', 'db'), revoke: revokes, headers: p.correlationHeader });
      break;
    case 'deploy-staging':
    case 'nightly-e2e':
    case 'smoke-tests':
    case 'terraform-plan': {
      const keys = job.name === 'deploy-staging' ? ['api-key', 'db'] : job.name === 'terraform-plan' ? ['db'] : ['api-key'];
      let t = secretsAt;
      for (const k of keys) {
        const res = sim.runnerSecret(job, p.roles.ci, claims, t, kvPath(p, 'staging', k), job.sourceIp);
        t += res.reqs[0]!.lat + r.int(80_000, 400_000);
      }
      break;
    }
    case 'deploy-production': {
      let t = secretsAt;
      for (const k of ['api-key', 'signing-key']) {
        const res = sim.runnerSecret(job, p.roles.deploy, claims, t, kvPath(p, 'production', k), job.sourceIp);
        t += res.reqs[0]!.lat + r.int(80_000, 400_000);
      }
      if (p.hasDb) {
        sim.scriptedFlow(job, p.roles.deploy, claims, { dbRole: `${p.slug}-prod`, kvPath: kvPath(p, 'production', 'db'), revoke: revokes, headers: p.correlationHeader });
      }
      break;
    }
    default:
      break;
  }
}

export { HOUR_US, MINUTE_US, SECOND_US, DAY_US };
