/**
 * What `simulate` writes, checked against the public samples and vault-audit.md: audit entry shapes (HMAC
 * format, omitted empty fields, RFC3339Nano times, login identity, leases, revoke-self, batch vs service tokens,
 * correlation header), devices/nodes/rotation, the server log, the ground truth (every request once, every rule
 * with --anomalies all, none with --anomalies none) and the GitLab state of GITLAB_STATE.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { simulate, type SimulateResult } from '../sim/index.js';
import { tempDir } from './helpers/cli.js';
import { auditLines, ndjson, type AuditLine, type Json } from './simulate-helpers.js';

const RULES = [
  'root-token-used', 'root-token-generated', 'audit-device-changed', 'audit-gap', 'raw-audit-logging', 'policy-changed',
  'auth-method-changed', 'jwt-role-changed', 'mount-changed', 'token-ttl-excessive', 'orphan-token-created',
  'permission-denied-burst', 'login-failure-burst', 'secret-enumeration', 'unexpected-source-ip', 'token-multi-ip',
  'token-used-after-job', 'lease-outlived-job', 'cross-project-access', 'unprotected-ref-prod-secret',
  'untrusted-pipeline-source', 'job-not-found', 'claims-mismatch', 'unattributed-secret-access', 'off-hours-human-access',
];
const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;
const NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;

interface GroundTruth {
  seed: number;
  requests: { request_id: string; job_id: number | null }[];
  anomalies: { rule: string; request_ids: string[]; job_id: number | null }[];
}

const tmp = tempDir('keytrail-sim-out-');
afterAll(() => tmp.cleanup());
let all: SimulateResult;
let none: SimulateResult;
let lines: AuditLine[];
let truth: GroundTruth;

beforeAll(async () => {
  all = await simulate({ outDir: join(tmp.dir, 'all'), seed: 5, days: 7, projects: 6, jobsPerDay: 40 });
  none = await simulate({ outDir: join(tmp.dir, 'none'), seed: 5, days: 3, projects: 6, jobsPerDay: 30, anomalies: 'none' });
  lines = auditLines(all.outDir);
  truth = JSON.parse(readFileSync(join(all.outDir, 'ground-truth.json'), 'utf8')) as GroundTruth;
}, 120_000);

const entries = () => lines.filter((l) => l.entry).map((l) => ({ ...l, e: l.entry! }));

describe('audit files', () => {
  it('every line parses except the injected torn copies, each followed by its full line', () => {
    const bad = lines.map((l, i) => ({ l, i })).filter(({ l }) => !l.entry);
    expect(bad.length).toBe(all.tornLines);
    expect(all.tornLines).toBeGreaterThanOrEqual(1);
    for (const { l, i } of bad) {
      const next = lines[i + 1]!;
      expect(next.entry).not.toBeNull();
      expect(next.text.startsWith(l.text)).toBe(true);
    }
    expect(lines.length).toBe(all.lines);
  });

  it('entries follow the 1.17 shape: sorted keys, RFC3339Nano times, omitted empty fields, HMACs per device', () => {
    const sorted = (o: Record<string, unknown>) => expect(Object.keys(o)).toEqual([...Object.keys(o)].sort());
    for (const { e, device } of entries()) {
      sorted(e);
      sorted(e.request);
      if (e.auth) sorted(e.auth);
      if (e.response) sorted(e.response);
      expect(e.time).toMatch(NANO);
      expect(['request', 'response']).toContain(e.type);
      for (const v of Object.values(e.request as Record<string, unknown>)) expect(v).not.toBe('');
      const a = e.auth as Record<string, Json>;
      if (a.token_issue_time) expect(a.token_issue_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      if (a.metadata) for (const v of Object.values(a.metadata)) expect(typeof v).toBe('string');
      if (device !== 'raw-debug') {
        for (const k of ['client_token', 'accessor']) if (a[k]) expect(a[k]).toMatch(HMAC);
        if (e.request.client_token) expect(e.request.client_token).toMatch(HMAC);
        if (e.request.data?.jwt) expect(e.request.data.jwt).toMatch(HMAC);
      }
    }
    // Variable fractional precision, as Vault trims trailing zeros.
    const digits = new Set(entries().map(({ e }) => (String(e.time).split('.')[1] ?? 'Z').length));
    expect(digits.size).toBeGreaterThan(2);
  });

  it('JWT login responses carry the new token identity; later requests repeat it (accessor join)', () => {
    const logins = entries().filter(({ e }) => e.type === 'response' && e.request.path === 'auth/jwt/login' && e.response?.auth);
    expect(logins.length).toBeGreaterThan(20);
    for (const { e } of logins) {
      expect(e.auth.display_name).toMatch(/^jwt-/);
      expect(e.auth.metadata.role).toBeTruthy();
      expect(e.auth.entity_id).toBeTruthy();
      expect(e.response.auth.client_token).toBe(e.auth.client_token);
      expect(e.request.data.role).toMatch(HMAC);
    }
    const mapped = logins.filter(({ e }) => e.auth.metadata.job_id);
    const unmapped = logins.filter(({ e }) => !e.auth.metadata.job_id);
    expect(mapped.length).toBeGreaterThan(0);
    expect(unmapped.length).toBeGreaterThan(0);
    for (const { e } of unmapped) expect(Object.keys(e.auth.metadata)).toEqual(['role']);
    // Service tokens: accessor present, request.client_token (inner) ≠ auth.client_token (hvs.); batch: no accessor, equal.
    const used = entries().filter(({ e, device }) => device === 'file-audit' && e.type === 'request' && e.auth?.metadata?.role && e.request.client_token);
    const service = used.filter(({ e }) => e.auth.token_type === 'service');
    const batch = used.filter(({ e }) => e.auth.token_type === 'batch');
    expect(service.length).toBeGreaterThan(0);
    expect(batch.length).toBeGreaterThan(0);
    for (const { e } of service) {
      expect(e.auth.accessor).toBe(e.request.client_token_accessor);
      expect(e.request.client_token).not.toBe(e.auth.client_token);
    }
    for (const { e } of batch) {
      expect(e.auth.accessor).toBeUndefined();
      expect(e.request.client_token).toBe(e.auth.client_token);
    }
    const accessors = new Set(logins.filter(({ device }) => device === 'file-audit').map(({ e }) => e.auth.accessor).filter(Boolean));
    expect(service.every(({ e }) => accessors.has(e.auth.accessor) || e.auth.display_name.startsWith('oidc-'))).toBe(true);
  });

  it('dynamic secrets issue clear lease ids prefixed by the request path; revokes name them; revoke-self has no response', () => {
    const issued = entries().filter(({ e }) => e.response?.secret);
    expect(issued.length).toBeGreaterThan(0);
    const leases = new Set<string>();
    for (const { e } of issued) {
      expect(e.response.secret.lease_id).toMatch(new RegExp(`^${e.request.path}/[0-9A-Za-z]{24}$`));
      expect(e.response.data.password).toMatch(HMAC);
      leases.add(e.response.secret.lease_id);
    }
    const revokes = entries().filter(({ e }) => e.request.path.startsWith('sys/leases/revoke/'));
    expect(revokes.length).toBeGreaterThan(0);
    for (const { e } of revokes) expect(leases.has(e.request.path.slice('sys/leases/revoke/'.length))).toBe(true);
    const self = entries().filter(({ e }) => e.type === 'response' && e.request.path === 'auth/token/revoke-self');
    expect(self.length).toBeGreaterThan(0);
    for (const { e } of self) expect(e.response).toBeUndefined();
    const headers = entries().filter(({ e }) => e.request.headers);
    expect(headers.length).toBeGreaterThan(0);
    for (const { e } of headers) expect(e.request.headers['x-correlation-id'][0]).toMatch(/^\d+$/);
    const oidc = entries().filter(({ e }) => e.type === 'response' && e.request.path === 'auth/oidc/oidc/callback');
    expect(oidc.length).toBeGreaterThan(0);
    for (const { e } of oidc) expect(e.auth.display_name).toMatch(/^oidc-[^@]+@acme\.example$/);
  });

  it('two devices with different salts on two HA nodes, rotated like logrotate; a log_raw device with clear tokens', () => {
    const byDevice = (dev: string) => entries().filter(({ device, e }) => device === dev && e.type === 'response' && e.request.path === 'auth/jwt/login' && e.response?.auth);
    const file = new Map(byDevice('file-audit').map(({ e }) => [e.request.id, e]));
    let compared = 0;
    for (const { e } of byDevice('socket-audit')) {
      const f = file.get(e.request.id);
      if (!f) continue;
      compared++;
      expect(e.auth.accessor === undefined || e.auth.accessor !== f.auth.accessor).toBe(true);
      expect(e.request.data.jwt).not.toBe(f.request.data.jwt);
    }
    expect(compared).toBeGreaterThan(10);
    // Within a device, the same role name HMACs equally on both nodes (one salt per device).
    const roleHmacs = new Map<string, Set<string>>();
    for (const { e, node } of byDevice('file-audit')) {
      const k = e.auth.metadata.role as string;
      if (!roleHmacs.has(k)) roleHmacs.set(k, new Set());
      roleHmacs.get(k)!.add(`${e.request.data.role}`);
      void node;
    }
    for (const set of roleHmacs.values()) expect(set.size).toBe(1);
    const nodes = new Set(lines.map((l) => l.node));
    expect([...nodes].sort()).toEqual(['vault-1', 'vault-2']);
    const v1 = readdirSync(join(all.outDir, 'vault/vault-1/file-audit')).sort();
    expect(v1).toEqual(['audit.log', 'audit.log.1', 'audit.log.2.gz', 'audit.log.3.gz', 'audit.log.4.gz', 'audit.log.5.gz', 'audit.log.6.gz']);
    const raw = entries().filter(({ device, e }) => device === 'raw-debug' && e.auth?.client_token);
    expect(raw.length).toBeGreaterThan(0);
    for (const { e } of raw) expect(e.auth.client_token).toMatch(/^(hvs\.|hvb\.)/);
    for (const f of ['vault/vault-1/server.log', 'vault/vault-2/server.log']) {
      const text = readFileSync(join(all.outDir, f), 'utf8');
      expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\] {2}expiration: revoked lease: lease_id=\S+$/m);
    }
    // No file is written for the raw device unless anomalies are injected.
    expect(existsSync(join(none.outDir, 'vault/vault-1/raw-debug'))).toBe(false);
  });
});

describe('ground truth', () => {
  it('lists every request id of the audit files exactly once, with its job (or null)', () => {
    const ids = new Set(entries().map(({ e }) => e.request.id as string));
    const gt = truth.requests.map((r) => r.request_id);
    expect(new Set(gt).size).toBe(gt.length);
    expect([...ids].sort()).toEqual([...gt].sort());
    expect(truth.seed).toBe(5);
    const jobs = new Set(ndjson<{ id: number }>(join(all.outDir, 'gitlab/jobs.ndjson')).map((j) => j.id));
    const fake = new Set(truth.anomalies.filter((a) => a.rule === 'job-not-found').map((a) => a.job_id));
    for (const r of truth.requests) if (r.job_id !== null && !fake.has(r.job_id)) expect(jobs.has(r.job_id)).toBe(true);
    // Requests whose token names a job carry that job in the ground truth (claims-mismatch and job-not-found aside).
    const byId = new Map(truth.requests.map((r) => [r.request_id, r.job_id]));
    for (const { e } of entries()) {
      const claimed = e.auth?.metadata?.job_id;
      if (claimed) expect(byId.get(e.request.id)).toBe(Number(claimed));
    }
  });

  it('--anomalies all injects every rule with evidence; --anomalies none injects nothing', () => {
    expect([...new Set(truth.anomalies.map((a) => a.rule))].sort()).toEqual([...RULES].sort());
    const ids = new Set(truth.requests.map((r) => r.request_id));
    for (const a of truth.anomalies) {
      expect(a.request_ids.length, a.rule).toBeGreaterThan(0);
      for (const id of a.request_ids) expect(ids.has(id), `${a.rule} ${id}`).toBe(true);
    }
    const noneTruth = JSON.parse(readFileSync(join(none.outDir, 'ground-truth.json'), 'utf8')) as GroundTruth;
    expect(noneTruth.anomalies).toEqual([]);
    expect(noneTruth.requests.length).toBe(none.requests);
    const noneLines = auditLines(none.outDir).filter((l) => l.entry);
    expect(noneLines.some((l) => /generate-root|sys\/audit\//.test(l.entry!.request.path))).toBe(false);
    expect(noneLines.some((l) => l.entry!.auth?.policies?.includes('root'))).toBe(false);
  });

  it('CI tokens of background jobs end within the job grace (short TTL or revoked)', () => {
    const anomalyJobs = new Set<number | null>(truth.anomalies.map((a) => a.job_id).filter((j) => j !== null));
    const jobOf = new Map(truth.requests.map((r) => [r.request_id, r.job_id]));
    let checked = 0;
    for (const { e } of entries()) {
      if (e.type === 'response' && e.request.path === 'auth/jwt/login' && e.response?.auth?.token_ttl) {
        if (anomalyJobs.has(jobOf.get(e.request.id) ?? null)) continue;
        expect(e.response.auth.token_ttl).toBeLessThanOrEqual(300);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('GitLab state and keytrail.yaml', () => {
  it('is valid per GITLAB_STATE.md: integer ids, every job in an existing pipeline, the variety of a real instance', () => {
    const dir = join(all.outDir, 'gitlab');
    const server = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8'));
    expect(server.tokens).toEqual([all.gitlabToken]);
    const groups = JSON.parse(readFileSync(join(dir, 'groups.json'), 'utf8')) as { id: number; parent_id: number | null; full_path: string }[];
    expect(groups.some((g) => g.parent_id !== null && groups.some((p) => p.id === g.parent_id && p.parent_id !== null))).toBe(true);
    const projects = JSON.parse(readFileSync(join(dir, 'projects.json'), 'utf8')) as Record<string, Json>[];
    expect(projects.length).toBe(7);
    const fork = projects.find((p) => p.forked_from_project);
    expect(fork?.namespace.kind).toBe('user');
    const pipelines = ndjson(join(dir, 'pipelines.ndjson'));
    const jobs = ndjson(join(dir, 'jobs.ndjson'));
    const pById = new Map(pipelines.map((p) => [p.id, p]));
    const projectIds = new Set(projects.map((p) => p.id));
    for (const p of pipelines) {
      expect(Number.isInteger(p.id) && Number.isInteger(p.iid) && Number.isInteger(p.project_id)).toBe(true);
      expect(projectIds.has(p.project_id)).toBe(true);
      expect(p.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    for (const j of jobs) {
      expect(Number.isInteger(j.id)).toBe(true);
      const p = pById.get(j.pipeline.id);
      expect(p, `pipeline of job ${j.id}`).toBeDefined();
      expect(j.pipeline.project_id).toBe(p!.project_id);
      expect(typeof j._retried).toBe('boolean');
      if (j.status === 'failed') expect(j.failure_reason).toBeTruthy();
      else expect(j.failure_reason).toBeUndefined();
      if (j.runner_manager) expect(j.runner_manager.ip_address === null || /^10\.20\.0\.\d+$/.test(j.runner_manager.ip_address)).toBe(true);
      if (j.runner) expect(j.runner.ip_address).toBeNull();
    }
    const sources = new Set(pipelines.map((p) => p.source));
    for (const s of ['push', 'schedule', 'merge_request_event', 'parent_pipeline', 'web', 'api']) expect(sources.has(s), s).toBe(true);
    expect(pipelines.some((p) => p.tag)).toBe(true);
    expect(pipelines.some((p) => String(p.ref).startsWith('refs/merge-requests/') && p.user.username === fork!.namespace.path)).toBe(true);
    const statuses = new Set(jobs.map((j) => j.status));
    for (const s of ['success', 'failed', 'skipped']) expect(statuses.has(s), s).toBe(true);
    expect(jobs.some((j) => j._retried)).toBe(true);
    expect(jobs.some((j) => j.runner?.runner_type === 'instance_type' && j.runner_manager.ip_address === null)).toBe(true);
    expect(jobs.some((j) => j.runner?.runner_type === 'group_type' && j.runner_manager.ip_address)).toBe(true);
    // Pushes happen in working hours on weekdays; nightly schedules at 02:xx.
    const pushHours = pipelines.filter((p) => p.source === 'push').map((p) => new Date(p.created_at).getUTCHours());
    expect(pushHours.filter((h) => h >= 7 && h <= 21).length / pushHours.length).toBeGreaterThan(0.9);
    expect(pipelines.filter((p) => p.source === 'schedule').every((p) => new Date(p.created_at).getUTCHours() === 2)).toBe(true);
  });

  it('keytrail.yaml names the devices, server logs, roles without claim mappings, CIDRs and owners of the organisation', () => {
    const y = parseYaml(readFileSync(join(all.outDir, 'keytrail.yaml'), 'utf8')) as Record<string, Json>;
    expect(y.vault.devices.map((d: { name: string }) => d.name)).toEqual(['file-audit', 'socket-audit', 'raw-debug']);
    expect(y.vault.server_logs).toEqual(['vault/*/server.log']);
    expect(Object.keys(y.roles).length).toBeGreaterThan(0);
    expect(y.detections.runner_cidrs).toEqual(['10.20.0.0/24', '34.74.90.0/24']);
    expect(y.detections.production_paths).toContain('kv/data/*/production/**');
    expect(Object.keys(y.leases.ttl_overrides).every((k: string) => k.startsWith('database/creds/'))).toBe(true);
    expect(y.gitlab.groups).toEqual(['acme']);
    const unmappedRoles = new Set(
      entries().filter(({ e }) => e.type === 'response' && e.request.path === 'auth/jwt/login' && e.auth?.metadata && !e.auth.metadata.job_id).map(({ e }) => e.auth.metadata.role as string),
    );
    for (const r of unmappedRoles) expect(y.roles[r]).toBeTruthy();
    // The JWT role definitions: string claims only in claim_mappings (runner_id is an integer and breaks logins).
    const roles = JSON.parse(readFileSync(join(all.outDir, 'vault-config/jwt-roles.json'), 'utf8')) as Record<string, Json>;
    const without = Object.entries(roles).filter(([, r]) => !r.claim_mappings).map(([n]) => n).sort();
    expect(without).toEqual(Object.keys(y.roles).sort());
    for (const r of Object.values(roles)) if (r.claim_mappings) expect(Object.keys(r.claim_mappings)).not.toContain('runner_id');
  });
});
