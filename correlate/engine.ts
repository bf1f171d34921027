/**
 * The correlation run. Reads what ingest stored (audit entries and each device's copies, server-log events,
 * GitLab rows) and writes derived rows: access rows, tokens and their per-device HMACs, leases, and the
 * lifecycle events behind token and lease ends.
 *
 * Incremental: a watermark over audit_copies.id (and server_events.id) says what is new. Every derived row
 * is recomputed from everything stored about it (never patched with a delta), so one run over all the data
 * and many runs over random slices of it end in the same rows. Pending rows (unknown verification,
 * heuristic and job-less tokens, unfinished jobs) are re-evaluated when GitLab data changes.
 *
 * The hot path uses better-sqlite3 prepared statements with constant SQL and bound parameters.
 */
import type Database from 'better-sqlite3';
import type { AccessesTable, LeasesTable } from '../db/schema/correlate.js';
import type { KeytrailDb } from '../db/connection.js';
import { BackgroundCheckpointer } from '../db/checkpointer.js';
import { lastLineIdReader } from '../db/line-ids.js';
import { claimsOf, correlationJobId, parseJson, type JobClaims } from './claims.js';
import { ColumnUpdates } from './column-updates.js';
import { GitlabView } from './gitlab-view.js';
import { leaseTtlFor, settingsFingerprint, type CorrelateSettings } from './settings.js';
import { addSeconds, isoOf, keyOf, minKey } from './times.js';
import { TokenStore, type TokenRow } from './tokens.js';
import { decideHeuristic, verifyAgainstGitlab, type Attribution, type HeuristicDecision, type Verified } from './verify.js';
import { ViewLoader, allCopies, classifyPath, earliestCopy, mainEntry, succeeded, type CopyRow, type RequestView } from './view.js';

export interface CorrelateSummary {
  requests: number;
  attribution: { claims: number; 'correlation-id': number; heuristic: number; none: number };
  verified: { yes: number; no: number; unknown: number };
  tokens: number;
  leases: { open: number; ended: number; outlived: number };
}

export interface CorrelateOptions {
  /** New audit copies handled per transaction (default 50,000). */
  chunkSize?: number;
}

const STATE_COPIES = 'correlate.copies_watermark';
const STATE_SERVER = 'correlate.server_events_watermark';
const STATE_GITLAB = 'correlate.gitlab_mark';
const STATE_SETTINGS = 'correlate.settings';

/** An access row as the engine builds it: the stored row with its attribution and verification typed. */
type AccessRow = Omit<AccessesTable, 'attribution' | 'verified'> & { attribution: Attribution; verified: Verified | null };

type LeaseRow = LeasesTable;

interface EventRow {
  source_id: string;
  time: string;
  time_key: string;
  kind: string;
  lease_id: string | null;
  token_id: number | null;
  device: string | null;
  hmac_kind: string | null;
  hmac: string | null;
  ttl_seconds: number | null;
}

const ACCESS_COLUMNS: (keyof AccessRow)[] = [
  'request_id',
  'time',
  'time_key',
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
  'pairing',
  'request_entry_id',
  'response_entry_id',
  'is_secret_access',
];

const LEASE_COLUMNS: (keyof LeaseRow)[] = [
  'lease_id',
  'issued_at',
  'issued_time_key',
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

const TOKEN_REVOKE_KINDS = ['token-revoke-self', 'token-revoke', 'token-revoke-orphan', 'token-revoke-accessor'];

function emptySummary(): CorrelateSummary {
  return {
    requests: 0,
    attribution: { claims: 0, 'correlation-id': 0, heuristic: 0, none: 0 },
    verified: { yes: 0, no: 0, unknown: 0 },
    tokens: 0,
    leases: { open: 0, ended: 0, outlived: 0 },
  };
}

/** Job-related columns of a row attributed to `jobId` (GitLab's facts when known, else the claims). */
interface JobFields {
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  ref: string | null;
}

const NO_JOB: JobFields = { job_id: null, pipeline_id: null, project_id: null, project_path: null, user_login: null, ref: null };

class Run {
  private readonly gitlab: GitlabView;
  private readonly tokens: TokenStore;
  private readonly views: ViewLoader;
  private readonly stmts;
  private readonly touchedRequests = new Map<string, { attribution: Attribution; verified: Verified | null }>();
  private readonly touchedTokens = new Set<number>();
  private readonly touchedLeases = new Map<string, { inferred: boolean; outlived: boolean }>();
  private prefixEvents: EventRow[] | null = null;
  /** Requests of tokens merged away in this chunk: their rows follow the kept token. */
  private mergedRequests: string[] = [];
  private readonly accessUpdates: ColumnUpdates;
  private readonly lastLineId: () => number;
  private readonly heuristicMemo = new Map<string, HeuristicDecision>();

  constructor(
    private readonly sqlite: Database.Database,
    private readonly settings: CorrelateSettings,
  ) {
    this.gitlab = new GitlabView(sqlite);
    this.tokens = new TokenStore(sqlite);
    this.views = new ViewLoader(sqlite);
    this.accessUpdates = new ColumnUpdates(sqlite, 'accesses', 'request_id', ACCESS_COLUMNS);
    this.lastLineId = lastLineIdReader(sqlite);
    this.stmts = {
      getState: sqlite.prepare('SELECT value FROM state WHERE key = ?'),
      setState: sqlite.prepare(
        'INSERT INTO state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      ),
      newCopies: sqlite.prepare(
        'SELECT c.id AS id, c.entry_id AS entry_id, e.request_id AS request_id FROM audit_copies c JOIN audit_entries e ON e.id = c.entry_id WHERE c.id > ? ORDER BY c.id LIMIT ?',
      ),
      newServerEvents: sqlite.prepare(
        "SELECT id, time, time_key, lease_id FROM server_events WHERE id > ? AND kind = 'lease-revoked' AND lease_id IS NOT NULL ORDER BY id LIMIT ?",
      ),
      maxServerEvent: sqlite.prepare('SELECT MAX(id) AS id FROM server_events'),
      insertAccess: sqlite.prepare(`INSERT INTO accesses (${ACCESS_COLUMNS.join(', ')}) VALUES (${ACCESS_COLUMNS.map(() => '?').join(', ')})`),
      storedAccess: sqlite.prepare(`SELECT ${ACCESS_COLUMNS.join(', ')} FROM accesses WHERE request_id = ?`).raw(true),
      accessTokenId: sqlite.prepare('SELECT token_id FROM accesses WHERE request_id = ?'),
      accessForLease: sqlite.prepare(
        'SELECT job_id, pipeline_id, project_id, project_path, user_login, mount_type, token_id FROM accesses WHERE request_id = ?',
      ),
      requestsOfToken: sqlite.prepare('SELECT request_id FROM accesses WHERE token_id = ?'),
      tokenUsage: sqlite.prepare(
        'SELECT COUNT(*) AS n, MAX(time_key) AS last FROM accesses WHERE token_id = ?',
      ),
      tokenAddresses: sqlite.prepare(
        'SELECT DISTINCT remote_address AS a FROM accesses WHERE token_id = ? AND remote_address IS NOT NULL ORDER BY remote_address LIMIT 50',
      ),
      tokenCorrelationJob: sqlite.prepare(
        "SELECT job_id FROM accesses WHERE token_id = ? AND attribution = 'correlation-id' ORDER BY time_key, request_id LIMIT 1",
      ),
      childTokens: sqlite.prepare('SELECT id FROM tokens WHERE parent_token_id = ?'),
      mergeToken: [
        sqlite.prepare('UPDATE token_hmacs SET token_id = ? WHERE token_id = ?'),
        sqlite.prepare('UPDATE accesses SET token_id = ? WHERE token_id = ?'),
        sqlite.prepare('UPDATE leases SET token_id = ? WHERE token_id = ?'),
        sqlite.prepare('UPDATE lifecycle_events SET token_id = ? WHERE token_id = ?'),
        sqlite.prepare('UPDATE tokens SET parent_token_id = ? WHERE parent_token_id = ?'),
      ],
      deleteToken: sqlite.prepare('DELETE FROM tokens WHERE id = ?'),
      deleteEvents: sqlite.prepare('DELETE FROM lifecycle_events WHERE source_id = ?'),
      insertEvent: sqlite.prepare(
        'INSERT INTO lifecycle_events (source_id, time, time_key, kind, lease_id, token_id, device, hmac_kind, hmac, ttl_seconds) ' +
          'VALUES (@source_id, @time, @time_key, @kind, @lease_id, @token_id, @device, @hmac_kind, @hmac, @ttl_seconds)',
      ),
      unresolvedEvents: sqlite.prepare(
        "SELECT id, device, hmac_kind, hmac FROM lifecycle_events WHERE kind IN ('token-revoke', 'token-revoke-orphan', 'token-revoke-accessor') AND token_id IS NULL",
      ),
      resolveEvent: sqlite.prepare('UPDATE lifecycle_events SET token_id = ? WHERE id = ?'),
      tokenEvents: sqlite.prepare('SELECT * FROM lifecycle_events WHERE token_id = ? ORDER BY time_key, source_id'),
      leaseEvents: sqlite.prepare('SELECT * FROM lifecycle_events WHERE lease_id = ? ORDER BY time_key, source_id'),
      prefixEvents: sqlite.prepare(
        "SELECT * FROM lifecycle_events WHERE kind IN ('lease-revoke-prefix', 'lease-revoke-force') ORDER BY time_key, source_id",
      ),
      leaseRow: sqlite.prepare('SELECT * FROM leases WHERE lease_id = ?'),
      insertLease: sqlite.prepare(
        'INSERT INTO leases (lease_id, issued_at, issued_time_key, issue_request_id, token_id, mount_type, ttl_seconds) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT(lease_id) DO UPDATE SET issued_at = excluded.issued_at, issued_time_key = excluded.issued_time_key ' +
          'WHERE leases.issue_request_id = excluded.issue_request_id',
      ),
      updateLease: sqlite.prepare(`UPDATE leases SET ${LEASE_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE lease_id = @lease_id`),
      leasesInRange: sqlite.prepare('SELECT lease_id FROM leases WHERE lease_id >= ? AND lease_id < ?'),
      leasesOfToken: sqlite.prepare('SELECT lease_id FROM leases WHERE token_id = ?'),
      // Separate COUNT and MAX sub-queries so each is answered from the synced_at/checked_at index alone.
      gitlabMark: sqlite.prepare(
        `SELECT (SELECT COUNT(*) FROM gitlab_jobs) || '/' || COALESCE((SELECT MAX(synced_at) FROM gitlab_jobs), '') AS jobs,
                (SELECT COUNT(*) FROM gitlab_pipelines) || '/' || COALESCE((SELECT MAX(synced_at) FROM gitlab_pipelines), '') AS pipelines,
                (SELECT COUNT(*) FROM gitlab_projects) || '/' || COALESCE((SELECT MAX(synced_at) FROM gitlab_projects), '') AS projects,
                (SELECT COUNT(*) FROM gitlab_job_lookups) || '/' || COALESCE((SELECT MAX(checked_at) FROM gitlab_job_lookups), '') AS lookups,
                COALESCE((SELECT MAX(synced_at) FROM gitlab_jobs), '') AS jobs_synced`,
      ),
      jobsSyncedAfter: sqlite.prepare('SELECT id FROM gitlab_jobs WHERE synced_at > ?'),
      accessesOfJob: sqlite.prepare('SELECT request_id FROM accesses WHERE job_id = ?'),
      tokensOfJob: sqlite.prepare('SELECT id FROM tokens WHERE job_id = ?'),
      leasesOfJob: sqlite.prepare('SELECT lease_id FROM leases WHERE job_id = ?'),
      unknownAccesses: sqlite.prepare("SELECT request_id FROM accesses WHERE verified = 'unknown'"),
      pendingTokens: sqlite.prepare(
        "SELECT id, role, attribution FROM tokens WHERE attribution IN ('heuristic', 'none', 'correlation-id') OR verified = 'unknown' OR (job_id IS NOT NULL AND outlived_job IS NULL)",
      ),
      pendingLeases: sqlite.prepare('SELECT lease_id FROM leases WHERE job_id IS NOT NULL AND outlived_job IS NULL'),
      allTokens: sqlite.prepare('SELECT id FROM tokens ORDER BY id'),
      allRequests: sqlite.prepare('SELECT request_id FROM accesses'),
      allLeases: sqlite.prepare('SELECT lease_id FROM leases'),
    };
  }

  private state(key: string): string | undefined {
    return (this.stmts.getState.get(key) as { value: string } | undefined)?.value;
  }

  private setState(key: string, value: string): void {
    this.stmts.setState.run(key, value, new Date().toISOString());
  }

  /**
   * A larger page cache and memory-mapped reads for the run (restored afterwards): the joins are index lookups
   * spread over the whole database.
   */
  private withCache<T>(fn: () => T): T {
    const cache = this.sqlite.pragma('cache_size', { simple: true }) as number;
    const mmap = this.sqlite.pragma('mmap_size', { simple: true }) as number;
    this.sqlite.pragma('cache_size = -262144');
    this.sqlite.pragma('mmap_size = 2147418112'); // SQLite's default ceiling (2 GiB)
    try {
      return fn();
    } finally {
      this.sqlite.pragma(`cache_size = ${Number(cache)}`);
      this.sqlite.pragma(`mmap_size = ${Number(mmap)}`);
    }
  }

  /** How many audit copies arrived since the last run (copy ids are dense, so the id difference). */
  newCopiesAbout(): number {
    return this.lastLineId() - Number(this.state(STATE_COPIES) ?? 0);
  }

  execute(chunkSize: number): CorrelateSummary {
    return this.withCache(() => this.executeRun(chunkSize));
  }

  private executeRun(chunkSize: number): CorrelateSummary {
    const fingerprint = settingsFingerprint(this.settings);
    const settingsChanged = this.state(STATE_SETTINGS) !== undefined && this.state(STATE_SETTINGS) !== fingerprint;

    // New audit copies, chunk by chunk, each chunk in its own transaction with its watermark.
    let watermark = Number(this.state(STATE_COPIES) ?? 0);
    // A request is read with every copy stored so far, so one logged by several devices is complete the first
    // time any of its copies comes up. Requests already processed in this run with copies beyond their chunk
    // (the other devices' copies, ingested later) → the highest copy id their views held: when those copies come
    // up in a later chunk, nothing about the request is new and it is not processed again.
    const processedAhead = new Map<string, number>();
    while (true) {
      const rows = this.stmts.newCopies.all(watermark, chunkSize) as { id: number; entry_id: number; request_id: string | null }[];
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!.id;
      const newestCopy = new Map<string, number>();
      for (const r of rows) if (r.request_id !== null) newestCopy.set(r.request_id, Math.max(newestCopy.get(r.request_id) ?? 0, r.id));
      const ordered: string[] = [];
      const seen = new Set<string>();
      const entries = { min: Infinity, max: -Infinity };
      for (const r of rows) {
        if (r.request_id === null) continue;
        const ahead = processedAhead.get(r.request_id);
        if (ahead !== undefined && ahead >= newestCopy.get(r.request_id)!) continue;
        if (!seen.has(r.request_id)) {
          seen.add(r.request_id);
          ordered.push(r.request_id);
        }
        entries.min = Math.min(entries.min, r.entry_id);
        entries.max = Math.max(entries.max, r.entry_id);
      }
      this.sqlite.transaction(() => {
        const views = this.processRequests(ordered, ordered.length ? entries : null);
        for (const v of views.values()) {
          let newest = 0;
          for (const c of v.reqCopies) newest = Math.max(newest, c.id);
          for (const c of v.respCopies) newest = Math.max(newest, c.id);
          if (newest > last) processedAhead.set(v.requestId, newest);
        }
        this.setState(STATE_COPIES, String(last));
      })();
      watermark = last;
      this.tokens.clearRows();
    }

    // Server-log revocations, then everything pending on GitLab data or settings, in one transaction.
    this.sqlite.transaction(() => {
      const dirtyLeases = new Set<string>();
      let serverMark = Number(this.state(STATE_SERVER) ?? 0);
      while (true) {
        const evs = this.stmts.newServerEvents.all(serverMark, 10_000) as { id: number; time: string; time_key: string; lease_id: string }[];
        if (evs.length === 0) break;
        for (const ev of evs) {
          const source = `server-log:${ev.id}`;
          this.stmts.deleteEvents.run(source);
          this.stmts.insertEvent.run(this.event(source, ev.time, ev.time_key, 'lease-server-log', { lease_id: ev.lease_id }));
          dirtyLeases.add(ev.lease_id);
        }
        serverMark = evs[evs.length - 1]!.id;
      }
      const maxServer = (this.stmts.maxServerEvent.get() as { id: number | null }).id ?? 0;
      if (maxServer > Number(this.state(STATE_SERVER) ?? 0)) this.setState(STATE_SERVER, String(maxServer));
      this.recomputeLeases(dirtyLeases);

      const mark = this.stmts.gitlabMark.get() as { jobs: string; pipelines: string; projects: string; lookups: string; jobs_synced: string };
      const markText = JSON.stringify([mark.jobs, mark.pipelines, mark.projects, mark.lookups]);
      const previous = parseJson<{ mark: string; jobs_synced: string }>(this.state(STATE_GITLAB));
      if (settingsChanged) this.reevaluateAll();
      else if (!previous || previous.mark !== markText) this.reevaluatePending(previous?.jobs_synced ?? '');
      this.setState(STATE_GITLAB, JSON.stringify({ mark: markText, jobs_synced: mark.jobs_synced }));
      this.setState(STATE_SETTINGS, fingerprint);
    })();
    return this.summary();
  }

  private summary(): CorrelateSummary {
    const s = emptySummary();
    s.requests = this.touchedRequests.size;
    for (const { attribution, verified } of this.touchedRequests.values()) {
      s.attribution[attribution]++;
      if (verified) s.verified[verified]++;
    }
    s.tokens = this.touchedTokens.size;
    for (const { inferred, outlived } of this.touchedLeases.values()) {
      if (inferred) s.leases.open++;
      else s.leases.ended++;
      if (outlived) s.leases.outlived++;
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------------
  // Lineage: tokens, their HMACs, lifecycle events and leases, from each request seen in this chunk.

  /** Correlates the requests (their views as loaded are returned). */
  private processRequests(requestIds: string[], entryRange: { min: number; max: number } | null): Map<string, RequestView> {
    const views = this.views.load(requestIds, entryRange);
    const dirtyTokens = new Set<number>();
    const dirtyLeases = new Set<string>();
    const callerOf = new Map<string, number | null>();
    for (const id of requestIds) {
      const v = views.get(id)!;
      if (!v.req && !v.resp) continue;
      callerOf.set(id, this.lineage(v, dirtyTokens, dirtyLeases));
    }
    this.resolvePendingEvents(dirtyTokens);
    const extraRequests = this.decideTokens(dirtyTokens);
    this.writeAccesses(views, callerOf);
    const more = [...new Set([...extraRequests, ...this.mergedRequests])].filter((r) => !views.has(r));
    this.mergedRequests = [];
    for (let i = 0; i < more.length; i += 5000) this.writeAccesses(this.views.load(more.slice(i, i + 5000)), new Map());
    this.finishTokens(dirtyTokens, dirtyLeases);
    this.recomputeLeases(dirtyLeases);
    return views;
  }

  private event(
    source_id: string,
    time: string,
    time_key: string,
    kind: string,
    extra: Partial<EventRow>,
  ): EventRow {
    return { source_id, time, time_key, kind, lease_id: null, token_id: null, device: null, hmac_kind: null, hmac: null, ttl_seconds: null, ...extra };
  }

  /** Tokens issued, renewed, used or revoked by one request; its lease events. Returns the caller's token. */
  private lineage(v: RequestView, dirtyTokens: Set<number>, dirtyLeases: Set<string>): number | null {
    const main = mainEntry(v);
    const { kind, target } = classifyPath(main.path);
    const ok = succeeded(v);
    const resp = v.resp;
    const events: EventRow[] = [];

    // A login or token creation issues a token; a renewal names it in response.auth.
    const issues = resp !== null && ok && v.respCopies.some((c) => c.issued_accessor || c.issued_client_token);
    let issued: number | null = null;
    if (issues && (kind === 'login' || kind === 'token-create')) {
      issued = this.resolve(v.respCopies, 'issued', dirtyTokens);
      const tok = issued === null ? this.tokens.create() : this.tokens.get(issued)!;
      issued = tok.id;
      this.tokens.linkAll(v.respCopies, 'issued', tok.id);
      // The top-level auth of a login response is the new token too (not the caller, who had none).
      if (kind === 'login') this.tokens.linkAll(v.respCopies, 'caller', tok.id);
      if (tok.issue_request_id === null || tok.issue_request_id === v.requestId) {
        this.fillIssued(tok, v, kind === 'login');
        if (kind === 'token-create') {
          const parent = this.tokens.find(allCopies(v), 'caller');
          tok.orphan = resp.issued_orphan ?? (main.path?.startsWith('auth/token/create-orphan') ? 1 : 0);
          tok.parent_token_id = tok.orphan ? null : parent;
        }
      }
      dirtyTokens.add(tok.id);
    }

    // The caller: auth.accessor (auth.client_token for batch tokens), through any device that saw it.
    const copies = allCopies(v);
    const loginIssued = kind === 'login' && issued !== null;
    let caller = loginIssued ? issued : this.resolve(copies, 'caller', dirtyTokens);
    if (caller === null && !loginIssued && copies.some((c) => c.accessor || c.client_token)) {
      const tok = this.tokens.create();
      this.fillSeenInUse(tok, v);
      caller = tok.id;
    }
    if (caller !== null) {
      this.tokens.linkAll(copies, 'caller', caller);
      dirtyTokens.add(caller);
    }

    if (ok && resp) {
      const respFirst = earliestCopy(v.respCopies);
      const at = respFirst ? { time: respFirst.time, key: respFirst.time_key } : { time: resp.time, key: resp.time_key };
      switch (kind) {
        case 'token-renew-self':
        case 'token-renew':
        case 'token-renew-accessor': {
          const renewed = this.tokens.find(v.respCopies, 'issued') ?? (kind === 'token-renew-self' ? caller : null);
          if (renewed !== null) {
            this.tokens.linkAll(v.respCopies, 'issued', renewed);
            events.push(this.event(v.requestId, at.time, at.key, 'token-renew', { token_id: renewed, ttl_seconds: resp.issued_token_ttl }));
            dirtyTokens.add(renewed);
          }
          break;
        }
        case 'token-revoke-self':
          if (caller !== null) events.push(this.event(v.requestId, at.time, at.key, 'token-revoke-self', { token_id: caller }));
          break;
        case 'token-revoke':
        case 'token-revoke-orphan':
        case 'token-revoke-accessor': {
          const hmacKind = kind === 'token-revoke-accessor' ? 'accessor' : 'client_token';
          for (const c of v.respCopies.length ? v.respCopies : v.reqCopies) {
            const hmac = hmacKind === 'accessor' ? c.data_accessor : c.data_token;
            if (!hmac) continue;
            const tokenId = this.tokens.lookup(c.device, hmacKind, hmac);
            events.push(this.event(v.requestId, at.time, at.key, kind, { token_id: tokenId, device: c.device, hmac_kind: hmacKind, hmac }));
            if (tokenId !== null) dirtyTokens.add(tokenId);
          }
          break;
        }
        case 'lease-renew': {
          const lease = resp.lease_id || target;
          if (lease) {
            events.push(this.event(v.requestId, at.time, at.key, 'lease-renew', { lease_id: lease }));
            dirtyLeases.add(lease);
          }
          break;
        }
        case 'lease-revoke':
          if (target) {
            events.push(this.event(v.requestId, at.time, at.key, 'lease-revoke', { lease_id: target }));
            dirtyLeases.add(target);
          }
          break;
        case 'lease-revoke-prefix':
        case 'lease-revoke-force':
          if (target) {
            events.push(this.event(v.requestId, at.time, at.key, kind, { lease_id: target }));
            this.prefixEvents = null;
            for (const r of this.stmts.leasesInRange.all(target, `${target}\uffff`) as { lease_id: string }[]) dirtyLeases.add(r.lease_id);
          }
          break;
        default:
          break;
      }
      // A dynamic secret: the clear lease id in the issuing response.
      if (resp.lease_id && kind !== 'lease-renew' && !(main.path ?? '').startsWith('sys/')) {
        const ttl = leaseTtlFor(resp.lease_id, this.settings);
        this.stmts.insertLease.run(resp.lease_id, at.time, at.key, v.requestId, caller, main.mount_type, ttl);
        dirtyLeases.add(resp.lease_id);
      }
    }
    this.stmts.deleteEvents.run(v.requestId);
    for (const e of events) this.stmts.insertEvent.run(e);
    return caller;
  }

  /**
   * The token the copies name. When devices learnt the same token separately (device B's copies arrived
   * before device A's login), a request seen by both proves they are one token: merge them.
   */
  private resolve(copies: CopyRow[], which: 'caller' | 'issued', dirtyTokens: Set<number>): number | null {
    const ids = this.tokens.findAll(copies, which);
    if (ids.length <= 1) return ids[0] ?? null;
    const rows = ids.map((id) => this.tokens.get(id)!).filter(Boolean);
    rows.sort((a, b) => (a.issue_request_id === null) === (b.issue_request_id === null) ? a.id - b.id : a.issue_request_id === null ? 1 : -1);
    const keep = rows[0]!;
    for (const drop of rows.slice(1)) {
      for (const r of this.stmts.requestsOfToken.all(drop.id) as { request_id: string }[]) this.mergedRequests.push(r.request_id);
      for (const stmt of this.stmts.mergeToken) stmt.run(keep.id, drop.id);
      this.stmts.deleteToken.run(drop.id);
      this.tokens.forget(drop.id);
      dirtyTokens.delete(drop.id);
      this.touchedTokens.delete(drop.id);
      if (keep.issued_time_key === null) {
        keep.issued_time_key = drop.issued_time_key;
        keep.issued_at = drop.issued_at;
      }
    }
    dirtyTokens.add(keep.id);
    return keep.id;
  }

  private fillIssued(tok: TokenRow, v: RequestView, login: boolean): void {
    const resp = v.resp!;
    const metadata = resp.issued_metadata ?? (login ? resp.metadata : null);
    const first = earliestCopy(v.respCopies);
    tok.issue_request_id = v.requestId;
    tok.issued_time_key = first?.time_key ?? resp.time_key;
    tok.issued_at = first?.time ?? resp.time;
    tok.accessor = first ? (first.issued_accessor ?? first.issued_client_token) : tok.accessor;
    tok.token_type = resp.issued_token_type ?? (login ? resp.token_type : null) ?? tok.token_type;
    tok.auth_mount = login ? (resp.mount_point ?? mountOfLoginPath(resp.path)) : 'auth/token/';
    tok.display_name = resp.issued_display_name ?? (login ? resp.display_name : null) ?? tok.display_name;
    tok.entity_id = resp.issued_entity_id ?? (login ? resp.entity_id : null) ?? tok.entity_id;
    tok.policies = resp.issued_policies ?? (login ? resp.policies : null) ?? tok.policies;
    tok.metadata = metadata ?? tok.metadata;
    tok.role = claimsOf(tok.metadata).role;
    tok.ttl_seconds = resp.issued_token_ttl ?? (login ? resp.token_ttl : null) ?? tok.ttl_seconds;
    tok.orphan = login ? 1 : tok.orphan;
    tok.issued_remote_address = (v.req ?? resp).remote_address;
  }

  /** A token first seen in use (its login is not in the data): what its requests repeat about it. */
  private fillSeenInUse(tok: TokenRow, v: RequestView): void {
    const e = mainEntry(v);
    const first = earliestCopy(allCopies(v).filter((c) => c.accessor || c.client_token));
    tok.accessor = first ? (first.accessor ?? first.client_token) : null;
    tok.token_type = e.token_type;
    tok.display_name = e.display_name;
    tok.entity_id = e.entity_id;
    tok.policies = e.policies;
    tok.metadata = e.metadata;
    tok.role = claimsOf(e.metadata).role;
    tok.ttl_seconds = e.token_ttl;
    const issueKey = keyOf(e.token_issue_time);
    tok.issued_time_key = issueKey;
    tok.issued_at = isoOf(issueKey);
  }

  /** Revocations that named a token by an HMAC not known when they were read. */
  private resolvePendingEvents(dirtyTokens: Set<number>): void {
    for (const e of this.stmts.unresolvedEvents.all() as { id: number; device: string; hmac_kind: 'accessor' | 'client_token'; hmac: string }[]) {
      const id = this.tokens.lookup(e.device, e.hmac_kind, e.hmac);
      if (id !== null) {
        this.stmts.resolveEvent.run(id, e.id);
        dirtyTokens.add(id);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Tokens: attribution at login (claims, else heuristic), then ends, renewals and whether they outlived the job.

  /** Decides each dirty token's job; returns the requests whose rows must follow a changed decision. */
  private decideTokens(ids: Iterable<number>): string[] {
    const follow: string[] = [];
    for (const id of ids) {
      const tok = this.tokens.get(id);
      if (!tok) continue;
      const before = `${tok.attribution}/${tok.job_id}`;
      const claims = claimsOf(tok.metadata);
      let attribution: Attribution = 'none';
      let jobId: number | null = null;
      let evidence: Record<string, unknown> | null = null;
      if (claims.job_id !== null) {
        attribution = 'claims';
        jobId = claims.job_id;
      } else {
        const input = { role: tok.role, loginKey: tok.issued_time_key, displayName: tok.display_name, authMount: tok.auth_mount, remoteAddress: tok.issued_remote_address };
        // GitLab data does not change during a run: a token used in many chunks is decided once.
        const memoKey = JSON.stringify(input);
        let d = this.heuristicMemo.get(memoKey);
        if (!d) {
          d = decideHeuristic(input, this.settings.roles, this.gitlab, this.settings.clockSkewSeconds);
          this.heuristicMemo.set(memoKey, d);
        }
        evidence = d.evidence;
        if (d.jobId !== null) {
          attribution = 'heuristic';
          jobId = d.jobId;
        }
      }
      tok.attribution = attribution;
      tok.attribution_evidence = evidence ? JSON.stringify(evidence) : null;
      this.applyJob(tok, attribution, jobId, attribution === 'claims' ? claims : null);
      // Saved by finishTokens, which always follows (the cached row is what access rows read meanwhile).
      this.touchedTokens.add(tok.id);
      if (`${tok.attribution}/${tok.job_id}` !== before) {
        for (const r of this.stmts.requestsOfToken.all(tok.id) as { request_id: string }[]) follow.push(r.request_id);
      }
    }
    return follow;
  }

  private applyJob(tok: TokenRow, attribution: Attribution, jobId: number | null, claims: JobClaims | null): void {
    const f = jobId === null ? NO_JOB : this.jobFields(jobId, claims);
    Object.assign(tok, f);
    if (jobId === null || attribution === 'none') {
      tok.verified = null;
      tok.verify_detail = null;
    } else {
      const check = verifyAgainstGitlab(jobId, claims, tok.issued_time_key ?? '', this.gitlab, this.settings.clockSkewSeconds);
      tok.verified = check.verified;
      tok.verify_detail = check.contradictions.length ? JSON.stringify({ contradictions: check.contradictions }) : null;
    }
  }

  private jobFields(jobId: number, claims: JobClaims | null): JobFields {
    const job = this.gitlab.job(jobId);
    const projectId = job?.project_id ?? claims?.job_project_id ?? claims?.project_id ?? null;
    const project = this.gitlab.project(projectId);
    return {
      job_id: jobId,
      pipeline_id: job?.pipeline_id ?? claims?.pipeline_id ?? null,
      project_id: projectId,
      project_path: project?.path ?? claims?.job_project_path ?? claims?.project_path ?? null,
      user_login: job?.user_login ?? claims?.user_login ?? null,
      ref: claims?.ref ?? job?.ref ?? null,
    };
  }

  /** Usage, ends and the job comparison of each dirty token (children after parents). */
  private finishTokens(ids: Set<number>, dirtyLeases: Set<string>): void {
    const queue = [...ids].sort((a, b) => a - b);
    const done = new Set<number>();
    while (queue.length) {
      const id = queue.shift()!;
      if (done.has(id)) continue;
      done.add(id);
      const tok = this.tokens.get(id);
      if (!tok) continue;
      const endBefore = tok.ends_at;
      // A token whose own requests named a job by correlation id is that job's token.
      if (tok.attribution === 'none' || tok.attribution === 'correlation-id') {
        const row = this.stmts.tokenCorrelationJob.get(tok.id) as { job_id: number } | undefined;
        if (row) {
          tok.attribution = 'correlation-id';
          this.applyJob(tok, 'correlation-id', row.job_id, null);
        } else if (tok.attribution === 'correlation-id') {
          tok.attribution = 'none';
          this.applyJob(tok, 'none', null, null);
        }
      }
      const usage = this.stmts.tokenUsage.get(tok.id) as { n: number; last: string | null };
      tok.request_count = usage.n;
      tok.last_used_time_key = usage.last;
      const addrs = (this.stmts.tokenAddresses.all(tok.id) as { a: string }[]).map((r) => r.a);
      tok.remote_addresses = addrs.length ? JSON.stringify(addrs) : null;
      this.computeTokenEnd(tok);
      this.tokens.save(tok);
      this.touchedTokens.add(tok.id);
      if (tok.ends_at !== endBefore) {
        for (const r of this.stmts.leasesOfToken.all(tok.id) as { lease_id: string }[]) dirtyLeases.add(r.lease_id);
        for (const c of this.stmts.childTokens.all(tok.id) as { id: number }[]) if (!done.has(c.id)) queue.push(c.id);
      }
    }
  }

  private computeTokenEnd(tok: TokenRow): void {
    const events = this.stmts.tokenEvents.all(tok.id) as EventRow[];
    let renewKey: string | null = null;
    let renewTtl: number | null = null;
    let revoke: EventRow | null = null;
    for (const e of events) {
      if (e.kind === 'token-renew' && (renewKey === null || e.time_key >= renewKey)) {
        renewKey = e.time_key;
        if (e.ttl_seconds !== null) renewTtl = e.ttl_seconds;
      } else if (TOKEN_REVOKE_KINDS.includes(e.kind) && revoke === null) {
        revoke = e;
      }
    }
    // A child token (not an orphan) dies with its parent.
    let parentEnd: { key: string; request: string | null } | null = null;
    if (!tok.orphan && tok.parent_token_id !== null) {
      const parent = this.tokens.get(tok.parent_token_id);
      if (parent?.revoked_at) parentEnd = { key: keyOf(parent.revoked_at)!, request: parent.revoke_request_id };
    }
    tok.last_renewed_at = isoOf(renewKey);
    if (revoke && (!parentEnd || revoke.time_key <= parentEnd.key)) {
      tok.revoked_at = revoke.time;
      tok.revoke_kind = revoke.kind.replace(/^token-/, '');
      tok.revoke_request_id = revoke.source_id;
    } else if (parentEnd) {
      tok.revoked_at = isoOf(parentEnd.key);
      tok.revoke_kind = 'parent-revoked';
      tok.revoke_request_id = parentEnd.request;
    } else {
      tok.revoked_at = null;
      tok.revoke_kind = null;
      tok.revoke_request_id = null;
    }
    const ttl = renewTtl ?? tok.ttl_seconds;
    const base = renewKey ?? tok.issued_time_key;
    if (tok.revoked_at) {
      tok.ends_at = tok.revoked_at;
      tok.end_inferred = 0;
    } else if (base && ttl && ttl > 0) {
      tok.ends_at = isoOf(addSeconds(base, ttl));
      tok.end_inferred = 1;
    } else {
      tok.ends_at = null; // no TTL (a root token): it never ends by itself
      tok.end_inferred = 1;
    }
    const job = this.gitlab.job(tok.job_id);
    tok.job_finished_at = job?.finished_at ?? null;
    tok.outlived_job = this.outlived(keyOf(tok.ends_at), job?.finished_key ?? null, tok.job_id);
  }

  /** 1 when an end is later than the job's finish + grace (no end at all outlives it); null when unknown. */
  private outlived(endKey: string | null, finishedKey: string | null, jobId: number | null): number | null {
    if (jobId === null || finishedKey === null) return null;
    if (endKey === null) return 1;
    return endKey > addSeconds(finishedKey, this.settings.jobGraceSeconds) ? 1 : 0;
  }

  // ---------------------------------------------------------------------------------------------------
  // Leases: issued, renewed, ended (explicitly, by prefix, with their token, by the server log) or inferred.

  private recomputeLeases(ids: Set<string>): void {
    for (const id of [...ids].sort()) {
      const lease = this.stmts.leaseRow.get(id) as LeaseRow | undefined;
      if (!lease) continue; // an end seen before its issue: kept as an event until the lease arrives
      this.computeLease(lease);
      this.stmts.updateLease.run(lease);
      this.touchedLeases.set(lease.lease_id, { inferred: lease.end_inferred === 1, outlived: lease.outlived_job === 1 });
    }
  }

  private computeLease(lease: LeaseRow): void {
    const access = this.stmts.accessForLease.get(lease.issue_request_id) as
      | { job_id: number | null; pipeline_id: number | null; project_id: number | null; project_path: string | null; user_login: string | null; mount_type: string | null; token_id: number | null }
      | undefined;
    if (access) {
      lease.job_id = access.job_id;
      lease.pipeline_id = access.pipeline_id;
      lease.project_id = access.project_id;
      lease.project_path = access.project_path;
      lease.user_login = access.user_login;
      lease.mount_type = access.mount_type ?? lease.mount_type;
      lease.token_id = access.token_id ?? lease.token_id;
    }
    lease.ttl_seconds = leaseTtlFor(lease.lease_id, this.settings);
    const issued = lease.issued_time_key;
    let renewCount = 0;
    let renewKey: string | null = null;
    let end: { key: string; time: string; kind: string; request: string | null } | null = null;
    const consider = (key: string, time: string, kind: string, request: string | null) => {
      if (key < issued) return;
      if (!end || key < end.key) end = { key, time, kind, request };
    };
    for (const e of this.stmts.leaseEvents.all(lease.lease_id) as EventRow[]) {
      if (e.kind === 'lease-renew') {
        if (e.time_key >= issued) {
          renewCount++;
          if (!renewKey || e.time_key > renewKey) renewKey = e.time_key;
        }
      } else if (e.kind === 'lease-revoke') consider(e.time_key, e.time, 'revoke', e.source_id);
      else if (e.kind === 'lease-server-log') consider(e.time_key, e.time, 'server-log', null);
    }
    this.prefixEvents ??= this.stmts.prefixEvents.all() as EventRow[];
    for (const e of this.prefixEvents) {
      if (e.lease_id && lease.lease_id.startsWith(e.lease_id)) {
        consider(e.time_key, e.time, e.kind === 'lease-revoke-force' ? 'revoke-force' : 'revoke-prefix', e.source_id);
      }
    }
    // The token that obtained it: revoking it revokes its leases; its expiry ends them. Leases of batch tokens
    // are not indexed under the token (Vault's expiration manager), so only service tokens count.
    const tok = lease.token_id !== null ? this.tokens.get(lease.token_id) : null;
    const tokenBound = tok !== null && tok.token_type !== 'batch';
    if (tokenBound && tok.revoked_at) consider(keyOf(tok.revoked_at)!, tok.revoked_at, 'token-revoked', tok.revoke_request_id);
    lease.renew_count = renewCount;
    lease.last_renewed_at = isoOf(renewKey);
    const recorded = end as { key: string; time: string; kind: string; request: string | null } | null;
    let endKey: string | null;
    if (recorded) {
      lease.ended_at = recorded.time;
      lease.end_kind = recorded.kind;
      lease.end_request_id = recorded.request;
      lease.end_inferred = 0;
      endKey = recorded.key;
    } else {
      const ttlEnd = addSeconds(issued, lease.ttl_seconds);
      const tokenEnd = tokenBound ? keyOf(tok.ends_at) : null;
      endKey = minKey(ttlEnd, tokenEnd);
      lease.ended_at = isoOf(endKey);
      lease.end_kind = tokenEnd !== null && tokenEnd < ttlEnd ? 'token-expired' : 'inferred-ttl';
      lease.end_request_id = null;
      lease.end_inferred = 1;
    }
    const job = this.gitlab.job(lease.job_id);
    lease.job_finished_at = job?.finished_at ?? null;
    lease.outlived_job = this.outlived(endKey, job?.finished_key ?? null, lease.job_id);
  }

  // ---------------------------------------------------------------------------------------------------
  // Access rows (CONTRACT.md "Access rows").

  private writeAccesses(views: Map<string, RequestView>, callerOf: Map<string, number | null>): void {
    for (const v of views.values()) {
      if (!v.req && !v.resp) continue;
      let caller = callerOf.get(v.requestId);
      if (caller === undefined) {
        const issued = classifyPath(mainEntry(v).path).kind === 'login' ? this.tokens.find(v.respCopies, 'issued') : null;
        caller = issued ?? this.tokens.find(allCopies(v), 'caller');
      }
      const row = this.accessRow(v, caller);
      this.storeAccess(row);
      this.touchedRequests.set(row.request_id, { attribution: row.attribution, verified: row.verified });
    }
  }

  /**
   * Inserts a new access row, or updates only the columns that changed: a request is correlated again when
   * another device's copy arrives (usually changing `devices` alone), and rewriting every column of a row
   * rewrites its entry in each of the table's ten indexes.
   */
  private storeAccess(row: AccessRow): void {
    const values = ACCESS_COLUMNS.map((c) => row[c] ?? null);
    const stored = this.stmts.storedAccess.get(row.request_id) as unknown[] | undefined;
    if (!stored) {
      this.stmts.insertAccess.run(values);
      return;
    }
    this.accessUpdates.write(row.request_id, values, stored);
  }

  private accessRow(v: RequestView, tokenId: number | null): AccessRow {
    const main = mainEntry(v);
    const { kind, target } = classifyPath(main.path);
    const first = earliestCopy(v.reqCopies.length ? v.reqCopies : v.respCopies)!;
    const devices = [...new Set(allCopies(v).map((c) => c.device))].sort();
    const errorText = v.resp?.error ?? v.req?.error ?? null;
    const outcome = errorText ? (/permission denied/i.test(errorText) ? 'denied' : 'error') : v.resp?.response_error ? 'error' : 'ok';
    const tok = tokenId !== null ? this.tokens.get(tokenId) : null;
    const metadata = main.metadata ?? (kind === 'login' ? v.resp?.issued_metadata : null) ?? null;
    const claims = claimsOf(metadata ?? tok?.metadata);
    // The accessor as the first device (earliest copy) logged it.
    const accessorCopy = earliestCopy(allCopies(v).filter((c) => c.accessor));
    const path = main.path;

    let attribution: Attribution = 'none';
    let jobId: number | null = null;
    let claimsForCheck: JobClaims | null = null;
    let detail: Record<string, unknown> = {};
    const corr = correlationJobId(main.correlation_id ?? v.req?.correlation_id);
    if (claims.job_id !== null) {
      attribution = 'claims';
      jobId = claims.job_id;
      claimsForCheck = claims;
    } else if (corr !== null) {
      attribution = 'correlation-id';
      jobId = corr;
      detail = { correlation_id: String(corr) };
    } else if (tok && tok.attribution === 'heuristic' && tok.job_id !== null) {
      attribution = 'heuristic';
      jobId = tok.job_id;
      detail = { heuristic: parseJson(tok.attribution_evidence) };
    } else if (tok?.attribution_evidence) {
      detail = { heuristic: parseJson(tok.attribution_evidence) };
    }
    let verified: Verified | null = null;
    let fields = NO_JOB;
    if (jobId !== null) {
      fields = this.jobFields(jobId, claimsForCheck);
      const check = verifyAgainstGitlab(jobId, claimsForCheck, first.time_key, this.gitlab, this.settings.clockSkewSeconds);
      verified = check.verified;
      if (check.contradictions.length) detail = { ...detail, contradictions: check.contradictions };
    }
    let leaseId = v.resp?.lease_id || null;
    if (!leaseId && kind === 'lease-revoke' && target) leaseId = target;
    return {
      request_id: v.requestId,
      time: first.time,
      time_key: first.time_key,
      devices: devices.join(','),
      operation: main.operation,
      path,
      namespace: main.namespace_path ?? '',
      mount_type: main.mount_type,
      outcome,
      remote_address: main.remote_address ?? v.req?.remote_address ?? null,
      display_name: main.display_name,
      entity_id: main.entity_id,
      auth_mount: tok?.auth_mount ?? (kind === 'login' ? (main.mount_point ?? mountOfLoginPath(path)) : null),
      role: claims.role ?? tok?.role ?? null,
      token_accessor: accessorCopy?.accessor ?? null,
      token_id: tokenId,
      lease_id: leaseId,
      ...fields,
      attribution,
      verified,
      verify_detail: Object.keys(detail).length ? JSON.stringify(detail) : null,
      pairing: v.req && v.resp ? 'paired' : v.req ? 'request-only' : 'response-only',
      request_entry_id: v.req?.id ?? null,
      response_entry_id: v.resp?.id ?? null,
      is_secret_access: path && !path.startsWith('sys/') && !path.startsWith('auth/') ? 1 : 0,
    };
  }

  // ---------------------------------------------------------------------------------------------------
  // Re-evaluation when GitLab data (or the settings) changed.

  private reevaluatePending(previousJobsSynced: string): void {
    const requests = new Set<string>();
    const tokens = new Set<number>();
    const leases = new Set<string>();
    for (const r of this.stmts.unknownAccesses.all() as { request_id: string }[]) requests.add(r.request_id);
    // A token without a job can only gain one from GitLab through a heuristic on a configured role.
    for (const t of this.stmts.pendingTokens.all() as { id: number; role: string | null; attribution: string }[]) {
      if (t.attribution === 'none' && (t.role === null || !Object.prototype.hasOwnProperty.call(this.settings.roles, t.role))) continue;
      tokens.add(t.id);
    }
    for (const l of this.stmts.pendingLeases.all() as { lease_id: string }[]) leases.add(l.lease_id);
    // Jobs synced again since the last run may have changed (a finish time, a status): their rows follow.
    const changedJobs = previousJobsSynced ? (this.stmts.jobsSyncedAfter.all(previousJobsSynced) as { id: number }[]) : [];
    for (const j of changedJobs) {
      for (const r of this.stmts.accessesOfJob.all(j.id) as { request_id: string }[]) requests.add(r.request_id);
      for (const t of this.stmts.tokensOfJob.all(j.id) as { id: number }[]) tokens.add(t.id);
      for (const l of this.stmts.leasesOfJob.all(j.id) as { lease_id: string }[]) leases.add(l.lease_id);
    }
    this.reevaluate(requests, tokens, leases);
  }

  private reevaluateAll(): void {
    const requests = new Set((this.stmts.allRequests.all() as { request_id: string }[]).map((r) => r.request_id));
    const tokens = new Set((this.stmts.allTokens.all() as { id: number }[]).map((t) => t.id));
    const leases = new Set((this.stmts.allLeases.all() as { lease_id: string }[]).map((l) => l.lease_id));
    this.reevaluate(requests, tokens, leases);
  }

  private reevaluate(requests: Set<string>, tokens: Set<number>, leases: Set<string>): void {
    // Rows this run already computed used the current GitLab data.
    for (const r of requests) if (this.touchedRequests.has(r)) requests.delete(r);
    for (const t of tokens) if (this.touchedTokens.has(t)) tokens.delete(t);
    for (const l of leases) if (this.touchedLeases.has(l)) leases.delete(l);
    if (requests.size === 0 && tokens.size === 0 && leases.size === 0) return;
    for (const r of this.decideTokens(tokens)) requests.add(r);
    const list = [...requests];
    for (let i = 0; i < list.length; i += 5000) {
      const chunk = list.slice(i, i + 5000);
      const views = this.views.load(chunk);
      const callers = new Map<string, number | null>();
      for (const id of chunk) callers.set(id, (this.stmts.accessTokenId.get(id) as { token_id: number | null } | undefined)?.token_id ?? null);
      this.writeAccesses(views, callers);
    }
    this.finishTokens(tokens, leases);
    this.recomputeLeases(leases);
  }
}

function mountOfLoginPath(path: string | null): string | null {
  const m = /^(auth\/.+?\/)login(\/|$)/.exec(path ?? '');
  return m ? m[1]! : null;
}

/**
 * Runs the correlator over everything new since the last run (see the module comment) and returns the
 * CONTRACT.md summary of what this run processed (all zero when nothing is new).
 */
export async function correlate(handle: KeytrailDb, settings: CorrelateSettings, options: CorrelateOptions = {}): Promise<CorrelateSummary> {
  const run = new Run(handle.sqlite, settings);
  // A large run writes as much as it reads: its WAL checkpoints go to a background thread (not for a few new lines).
  const checkpointer = run.newCopiesAbout() > 50_000 ? BackgroundCheckpointer.start(handle) : null;
  try {
    return run.execute(options.chunkSize ?? 50_000);
  } finally {
    await checkpointer?.stop();
  }
}
