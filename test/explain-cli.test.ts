/** End-to-end: `keytrail explain <request_id>` for a person and as JSON, and an unknown id. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { harness, storeGitlab, type Harness } from './fixtures/correlate/harness.js';
import { buildScenario, GITLAB, BASE, ROLES } from './fixtures/correlate/scenario.js';
import { at } from './fixtures/correlate/vault-builder.js';

let h: Harness;
let db: string;
let req: Record<string, string>;
let lease: { requestId: string; leaseId: string };

beforeAll(async () => {
  h = await harness();
  const s = buildScenario([
    { name: 'node-a', salt: 'a' },
    { name: 'node-b', salt: 'b' },
  ]);
  req = s.req;
  lease = s.audit.leaseRead(s.tokens.good!, at(BASE, 200), 'database/creds/app');
  s.audit.request(s.tokens.good!, { time: at(BASE, 260), path: `sys/leases/revoke/${lease.leaseId}`, operation: 'update' });
  await storeGitlab(h.handle, GITLAB);
  await h.ingestText('a.log', s.audit.file('node-a'), 'node-a');
  await h.ingestText('b.log', s.audit.file('node-b'), 'node-b');
  await h.correlate({ roles: ROLES });
  db = h.handle.path;
  await h.handle.close();
});

afterAll(async () => {
  await h?.close().catch(() => undefined);
});

describe('keytrail explain', () => {
  it('--format json: raw lines from each device, token login and claims, lease end, job, pipeline, verification', async () => {
    const r = await runCli(['--db', db, 'explain', lease.requestId, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const x = JSON.parse(r.stdout);
    expect(x.request_id).toBe(lease.requestId);
    expect(x.raw).toHaveLength(4);
    expect(x.raw.map((l: { type: string; device: string }) => `${l.type}/${l.device}`)).toEqual([
      'request/node-a',
      'request/node-b',
      'response/node-a',
      'response/node-b',
    ]);
    for (const l of x.raw) expect(JSON.parse(l.line).request.id).toBe(lease.requestId);
    expect(JSON.parse(x.raw[2].line).response.secret.lease_id).toBe(lease.leaseId);
    expect(x.access).toMatchObject({ job_id: 1001, project_path: 'acme/app', lease_id: lease.leaseId, devices: ['node-a', 'node-b'] });
    expect(x.attribution).toMatchObject({ kind: 'claims', evidence: { claims: { job_id: '1001', pipeline_id: '201' } } });
    expect(x.verification).toEqual({ verified: 'yes', contradictions: [] });
    expect(x.login).toMatchObject({ request_id: req['good.login'], claims: { job_id: '1001', user_login: 'alice' } });
    expect(x.token).toMatchObject({ role: 'ci', auth_mount: 'auth/jwt/', job_id: 1001 });
    expect(x.leases).toHaveLength(1);
    expect(x.leases[0]).toMatchObject({ lease_id: lease.leaseId, end_kind: 'revoke', end_inferred: false, outlived_job: false });
    expect(x.job).toMatchObject({ id: 1001, status: 'success', user_login: 'alice', ref: 'main', project_path: 'acme/app', web_url: 'https://gitlab.example.com/p/10/-/jobs/1001' });
    expect(x.job.started_at).toBe('2026-03-02T10:00:00.000Z');
    expect(x.pipeline).toMatchObject({ id: 201, status: 'success', ref: 'main', web_url: 'https://gitlab.example.com/p/10/-/pipelines/201' });
  });

  it('reads for a person, with contradictions spelled out', async () => {
    const r = await runCli(['--db', db, 'explain', req['wrongPipeline.read']!]);
    expect(r.code).toBe(0);
    for (const section of ['Request ', 'Attribution', 'Verification', 'GitLab job', 'GitLab pipeline', 'Token', 'Login', 'Leases', 'Raw audit lines']) {
      expect(r.stdout).toContain(section);
    }
    expect(r.stdout).toContain('verified         no');
    expect(r.stdout).toMatch(/✗ pipeline: the job belongs to another pipeline \(claim 999, GitLab 201\)/);
    expect(r.stdout).toContain('[request · node-a ·');
    expect(r.stdout).toContain('https://gitlab.example.com/p/10/-/jobs/1001');
  });

  it('heuristic evidence, and an unknown request id exits 1 with a clear message', async () => {
    const none = await runCli(['--db', db, 'explain', req['ambiguous.read']!, '--format', 'json']);
    expect(JSON.parse(none.stdout).attribution).toMatchObject({ kind: 'none', evidence: { candidates: 2 } });
    const r = await runCli(['--db', db, 'explain', 'no-such-request']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no request "no-such-request" in the database');
  });
});
