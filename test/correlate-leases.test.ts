import { afterEach, describe, expect, it } from 'vitest';
import { harness, storeGitlab, restProject, restPipeline, type Harness } from './fixtures/correlate/harness.js';
import { VaultAudit, at, type Token } from './fixtures/correlate/vault-builder.js';

const BASE = '2026-03-02T10:00:00Z';
const t = (s: number) => at(BASE, s);
const iso = (s: number) => new Date(Date.parse(BASE) + s * 1000).toISOString();

// Job 1001 runs 10:00–10:10; grace 300 s, so credentials must end by 10:15.
const GITLAB = {
  projects: [restProject(10, 'acme/app')],
  pipelines: [restPipeline(201, 10)],
  jobs: [{ id: 1001, projectId: 10, pipelineId: 201, user: 'alice', started: iso(0), finished: iso(600) }],
};

function md() {
  return { role: 'ci', job_id: '1001', pipeline_id: '201', project_id: '10', user_login: 'alice', ref: 'main' };
}

describe('lease and token ends', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('a lease ended by each mechanism, with renewals, inferred ends and outlived_job', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const admin = audit.token('admin', { displayName: 'token', metadata: {}, issueTime: t(0), policies: ['root'], ttl: 0 });
    const session = (name: string, at0: number, opts: Partial<Token> = {}) => {
      const tok = audit.token(name, { displayName: 'jwt-alice', metadata: md(), issueTime: t(at0), ttl: 3600, ...opts });
      audit.login(tok, t(at0));
      return tok;
    };
    const main = session('main', 10);
    const byPath = audit.leaseRead(main, t(100), 'database/creds/app');
    audit.request(main, { time: t(200), path: `sys/leases/revoke/${byPath.leaseId}`, operation: 'update', data: { sync: true } });
    const byPrefix = audit.leaseRead(main, t(110), 'aws/creds/deploy');
    audit.request(main, { time: t(250), path: 'sys/leases/revoke-prefix/aws/creds/', operation: 'update' });
    const byForce = audit.leaseRead(main, t(120), 'database/creds/force');
    audit.request(admin, { time: t(260), path: 'sys/leases/revoke-force/database/creds/force', operation: 'update' });
    const byServerLog = audit.leaseRead(main, t(130), 'database/creds/logged');

    // Ended with its token: revoke-self, revoke (data.token) and revoke-accessor (data.accessor).
    const self = session('self', 20);
    const selfLease = audit.leaseRead(self, t(140), 'database/creds/app');
    audit.request(self, { time: t(150), path: 'sys/leases/renew', operation: 'update', data: { lease_id: selfLease.leaseId, increment: 60 }, leaseId: selfLease.leaseId });
    audit.request(self, { time: t(160), path: `sys/leases/renew/${selfLease.leaseId}`, operation: 'update', leaseId: selfLease.leaseId });
    const selfRevoke = audit.request(self, { time: t(400), path: 'auth/token/revoke-self', operation: 'update' });
    const revoked = session('revoked', 30);
    const revokedLease = audit.leaseRead(revoked, t(170), 'database/creds/app');
    const revokeReq = audit.request(admin, { time: t(420), path: 'auth/token/revoke', operation: 'update', data: { token: revoked.token } });
    const byAccessor = session('byAccessor', 40);
    const byAccessorLease = audit.leaseRead(byAccessor, t(180), 'database/creds/app');
    audit.request(admin, { time: t(430), path: 'auth/token/revoke-accessor', operation: 'update', data: { accessor: byAccessor.accessor! } });

    // No recorded end: the token's own expiry (TTL 600 s) comes before the lease TTL.
    const shortToken = session('short', 50, { ttl: 600 });
    const expiring = audit.leaseRead(shortToken, t(190), 'database/creds/app');
    // Renewing the token moves its end.
    const renewed = session('renewed', 60, { ttl: 600 });
    const renewedLease = audit.leaseRead(renewed, t(195), 'database/creds/app');
    audit.request(renewed, { time: t(500), path: 'auth/token/renew-self', operation: 'update' }, { token: renewed, topLevelIsIssued: false });
    // A long-lived token: the configured lease TTL (longest override prefix) ends it, after the job.
    const longToken = session('long', 70, { ttl: 86_400 });
    const ttlLease = audit.leaseRead(longToken, t(199), 'database/creds/long/role');
    // A batch token's lease is not tied to the token.
    const batch = session('batch', 80, { type: 'batch', ttl: 60 });
    const batchLease = audit.leaseRead(batch, t(198), 'database/creds/app');

    h = await harness();
    await storeGitlab(h.handle, GITLAB);
    await h.ingestText('audit.log', audit.file('file'), 'file');
    await h.serverLog('server.log', `${iso(300)} [INFO]  expiration: revoked lease: lease_id=${byServerLog.leaseId}\n`);
    const summary = await h.correlate({
      ttlOverrides: { 'database/creds/': 7200, 'database/creds/long/': 1200 },
      defaultLeaseTtlSeconds: 86_400,
    });

    const lease = (id: string) => h.handle.db.selectFrom('leases').selectAll().where('lease_id', '=', id).executeTakeFirstOrThrow();
    expect(await lease(byPath.leaseId)).toMatchObject({ end_kind: 'revoke', ended_at: t(200.004), end_inferred: 0, job_id: 1001, project_path: 'acme/app', outlived_job: 0, mount_type: 'database' });
    expect(await lease(byPrefix.leaseId)).toMatchObject({ end_kind: 'revoke-prefix', ended_at: t(250.004), end_inferred: 0 });
    expect(await lease(byForce.leaseId)).toMatchObject({ end_kind: 'revoke-force', ended_at: t(260.004) });
    expect(await lease(byServerLog.leaseId)).toMatchObject({ end_kind: 'server-log', ended_at: iso(300), end_inferred: 0 });
    expect(await lease(selfLease.leaseId)).toMatchObject({ end_kind: 'token-revoked', end_request_id: selfRevoke, renew_count: 2, last_renewed_at: t(160.004) });
    expect(await lease(revokedLease.leaseId)).toMatchObject({ end_kind: 'token-revoked', end_request_id: revokeReq });
    expect(await lease(byAccessorLease.leaseId)).toMatchObject({ end_kind: 'token-revoked', ended_at: t(430.004) });
    const exp = await lease(expiring.leaseId);
    expect(exp).toMatchObject({ end_kind: 'token-expired', end_inferred: 1, ttl_seconds: 7200, outlived_job: 0 });
    expect(exp.ended_at).toBe(at(t(50.004), 600).replace(/\.?0+Z$/, 'Z'));
    const ren = await lease(renewedLease.leaseId);
    expect(ren).toMatchObject({ end_kind: 'token-expired', outlived_job: 1 });
    expect(ren.ended_at).toBe(at(t(500.004), 600));
    const long = await lease(ttlLease.leaseId);
    expect(long).toMatchObject({ end_kind: 'inferred-ttl', ttl_seconds: 1200, end_inferred: 1, outlived_job: 1 });
    expect(long.ended_at).toBe(at(t(199.004), 1200));
    expect(await lease(batchLease.leaseId)).toMatchObject({ end_kind: 'inferred-ttl', ttl_seconds: 7200 });

    // Access rows carry the lease issued, renewed or revoked.
    const revokeRow = await h.handle.db.selectFrom('accesses').selectAll().where('path', '=', `sys/leases/revoke/${byPath.leaseId}`).executeTakeFirstOrThrow();
    expect(revokeRow.lease_id).toBe(byPath.leaseId);
    const issueRow = await h.handle.db.selectFrom('accesses').selectAll().where('request_id', '=', byPath.requestId).executeTakeFirstOrThrow();
    expect(issueRow.lease_id).toBe(byPath.leaseId);

    // Tokens: explicit ends, renewals moving the end, outlived_job against finished_at + grace.
    const tokenOfLease = async (id: string) => (await h.handle.db.selectFrom('tokens').selectAll().where('id', '=', (await lease(id)).token_id!).executeTakeFirstOrThrow());
    expect(await tokenOfLease(selfLease.leaseId)).toMatchObject({ revoke_kind: 'revoke-self', outlived_job: 0, job_id: 1001, job_finished_at: iso(600) });
    expect(await tokenOfLease(revokedLease.leaseId)).toMatchObject({ revoke_kind: 'revoke' });
    expect(await tokenOfLease(byAccessorLease.leaseId)).toMatchObject({ revoke_kind: 'revoke-accessor' });
    expect(await tokenOfLease(renewedLease.leaseId)).toMatchObject({ last_renewed_at: t(500.004), end_inferred: 1, outlived_job: 1 });
    expect(await tokenOfLease(ttlLease.leaseId)).toMatchObject({ outlived_job: 1 });
    expect(await tokenOfLease(expiring.leaseId)).toMatchObject({ outlived_job: 0 });

    expect(summary.leases.ended).toBe(7);
    expect(summary.leases.open).toBe(4);
    expect(summary.leases.outlived).toBe(await h.handle.db.selectFrom('leases').where('outlived_job', '=', 1).select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow().then((r) => Number(r.n)));
  });

  it('a revocation read in a later run ends leases and tokens correlated earlier', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const tok = audit.token('x', { displayName: 'jwt-alice', metadata: md(), issueTime: t(0), ttl: 86_400 });
    audit.login(tok, t(0));
    const l = audit.leaseRead(tok, t(10), 'database/creds/app');
    const first = audit.file('file');
    audit.request(tok, { time: t(900), path: 'auth/token/revoke-self', operation: 'update' });
    const all = audit.file('file');
    h = await harness();
    await storeGitlab(h.handle, GITLAB);
    await h.ingestText('audit.log', first, 'file');
    const s1 = await h.correlate();
    expect(s1.leases).toEqual({ open: 1, ended: 0, outlived: 1 });
    await h.ingestText('audit.log', all, 'file');
    const s2 = await h.correlate();
    expect(s2.leases).toEqual({ open: 0, ended: 1, outlived: 1 });
    const lease = await h.handle.db.selectFrom('leases').selectAll().where('lease_id', '=', l.leaseId).executeTakeFirstOrThrow();
    expect(lease).toMatchObject({ end_kind: 'token-revoked', ended_at: t(900.004), outlived_job: 1 });
  });
});
