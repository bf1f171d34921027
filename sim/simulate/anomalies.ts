import { kvPath, type Project } from './org.js';
import { hmac, hmacCached, type Device, type Token, type VaultReq } from './vault.js';
import { defaultJobVault, DAY_US, HOUR_US, MINUTE_US, SECOND_US, type PipelineSpec, type Sim } from './sim.js';
import { officeIp, oidcLogin, developerSession, policyWrite, tokenCreate } from './people.js';
import type { JobRec } from './gitlab.js';

/** A scheduled piece of activity: runs when the main loop reaches its time slice. */
export interface Action {
  us: number;
  run: () => Promise<void> | void;
}

const OUTSIDE_IP = '198.51.100.23';
const ATTACKER_IP = '203.0.113.77';
export const RAW_DEVICE = 'raw-debug';

/**
 * Plans every detection rule of the catalogue (issue #5) once, with the request ids that evidence it, and
 * sets the audit-gap and raw-device windows. Each recipe uses dedicated pipelines/jobs or tokens so that the
 * evidence of one rule does not depend on random background activity.
 */
export function planAnomalies(sim: Sim): Action[] {
  const org = sim.org;
  const days = sim.days;
  const day = (k: number) => sim.startUs + (k % days) * DAY_US;
  const at = (k: number, h: number, m: number) => day(k) + h * HOUR_US + m * MINUTE_US;
  const actions: Action[] = [];
  const add = (rule: string, reqs: VaultReq[], jobId: number | null, note: string) => {
    sim.anomalies.push({ rule, request_ids: reqs.map((r) => r.id), job_id: jobId, note });
  };
  const ops = org.operators[0]!;
  const dev = org.developers[1]!;
  const mapped = org.projects.filter((p) => p.roles.ci.claimMappings && p.roles.ci.tokenType === 'service');
  const pA = mapped.find((p) => p.hasDb) ?? org.projects[0]!;
  const pB = org.projects.find((p) => p !== pA) ?? pA;
  const member = (p: Project) => p.members[0] ?? org.developers[0]!;
  const runnerIp = '10.20.0.21';

  const oneJobPipeline = (p: Project, o: Partial<PipelineSpec> & { createdUs: number; name: string; stage?: string; vault: PipelineSpec['vault'] }) =>
    sim.runPipeline({
      project: p, ref: o.ref ?? 'main', refClaim: o.refClaim ?? o.ref ?? 'main', refType: 'branch', refProtected: o.refProtected ?? true,
      source: o.source ?? 'push', user: o.user ?? member(p), createdUs: o.createdUs, stages: [[o.stage ?? 'test', [o.name]]],
      failRate: 0, noCancel: true, vault: o.vault,
    });

  // Windows (before the failover, which starts at 13:00 or later, so they are on node 1).
  const gapFrom = at(1, 8, 40);
  sim.gap = { from: gapFrom, to: gapFrom + 90 * MINUTE_US };
  const rawFrom = at(2, 10, 30);

  // root-token-generated + root-token-used
  actions.push({
    us: at(1, 11, 5),
    run: () => {
      const t0 = at(1, 11, 5);
      const ip = officeIp(ops);
      const port = sim.port();
      const sys = org.mounts.sys;
      const nonce = sim.rngVault.uuid();
      const otp = sim.rngVault.base62(28);
      const hdr = { 'Cache-Control': ['no-store'], 'Content-Type': ['application/json'] };
      const gen: VaultReq[] = [];
      gen.push(sim.call({ us: t0, token: undefined, mount: sys, op: 'update', path: 'sys/generate-root/attempt', ip, port, jobId: null,
        data: (d) => ({ otp: hmac(d, otp), pgp_key: hmacCached(d, '') }),
        respData: (d) => ({ complete: false, encoded_root_token: hmacCached(d, ''), encoded_token: hmacCached(d, ''), nonce: hmac(d, nonce), otp: hmacCached(d, ''), otp_length: 0, pgp_fingerprint: hmacCached(d, ''), progress: 0, required: 3, started: true }) }));
      gen[0]!.respHeaders = hdr;
      sim.serverLog(t0 + 200_000, `[INFO]  core: root generation initialized: nonce=${nonce}`);
      const encoded = sim.rngVault.base62(44);
      for (let i = 1; i <= 3; i++) {
        const key = sim.rngVault.base62(44);
        const done = i === 3;
        const req = sim.call({ us: t0 + i * 95 * SECOND_US, token: undefined, mount: sys, op: 'update', path: 'sys/generate-root/update', ip, port, jobId: null,
          data: (d) => ({ key: hmac(d, key), nonce: hmac(d, nonce) }),
          respData: (d) => ({ complete: done, encoded_root_token: done ? hmac(d, encoded) : hmacCached(d, ''), encoded_token: done ? hmac(d, encoded) : hmacCached(d, ''), nonce: hmac(d, nonce), otp: hmacCached(d, ''), otp_length: 0, pgp_fingerprint: hmacCached(d, ''), progress: i, required: 3, started: true }) });
        req.respHeaders = hdr;
        gen.push(req);
      }
      sim.serverLog(t0 + 3 * 95 * SECOND_US + 300_000, `[INFO]  core: root generation finished: nonce=${nonce}`);
      add('root-token-generated', gen, null, 'sys/generate-root/attempt and three sys/generate-root/update calls (the last completes) by an operator');
      const tr = t0 + 6 * MINUTE_US;
      const root = sim.newServiceToken({ displayName: 'root', policies: ['root'], ttl: 0, issueUs: t0 + 3 * 95 * SECOND_US });
      const used: VaultReq[] = [];
      used.push(sim.call({ us: tr, token: root, mount: sys, op: 'list', path: 'sys/policies/acl', ip, port, jobId: null, respData: (d) => ({ keys: ['default', 'root'].map((k) => hmacCached(d, k)) }) }));
      used.push(sim.call({ us: tr + 40 * SECOND_US, token: root, mount: sys, op: 'read', path: 'sys/auth', ip, port, jobId: null, respData: (d) => ({ 'jwt/': { type: hmacCached(d, 'jwt') } }) }));
      used.push(sim.call({ us: tr + 95 * SECOND_US, token: root, mount: org.mounts.token, op: 'update', path: 'auth/token/revoke-self', ip, port, jobId: null, noResponse: true }));
      add('root-token-used', used, null, 'the generated root token (policies [root]) lists policies, reads sys/auth, then revokes itself');
    },
  });

  // audit-gap: the socket device is silent for 90 minutes while the file device logs (an operator works meanwhile).
  actions.push({
    us: gapFrom,
    run: () => {
      sim.serverLog(gapFrom + 1_000, '[ERROR] audit: backend failed to log request: backend=socket-audit/ error="write tcp 10.0.1.10:51234->10.0.1.50:9090: i/o timeout"');
      operatorReview(sim, gapFrom + 20 * MINUTE_US);
      operatorReview(sim, gapFrom + 61 * MINUTE_US);
      sim.serverLog(gapFrom + 90 * MINUTE_US + 2_000, '[INFO]  audit: socket device reconnected: backend=socket-audit/');
    },
  });

  // audit-device-changed + raw-audit-logging: a log_raw device enabled for 20 minutes, then disabled.
  actions.push({
    us: rawFrom,
    run: () => {
      const ip = officeIp(ops);
      const { token } = oidcLogin(sim, ops, rawFrom - 3 * MINUTE_US, ip, true);
      const port = sim.port();
      const sys = org.mounts.sys;
      const enable = sim.call({ us: rawFrom + 137_000, token, mount: sys, op: 'update', path: `sys/audit/${RAW_DEVICE}`, ip, port, jobId: null, noResponse: true,
        data: (d) => ({ description: hmacCached(d, 'debugging a login issue'), local: false, options: { file_path: hmacCached(d, `/var/log/vault/${RAW_DEVICE}/audit.log`), log_raw: hmacCached(d, 'true') }, type: hmacCached(d, 'file') }) });
      // Vault writes the probe to the new device while enabling it: after the request entry, before the response.
      const probeUs = enable.t.us + Math.floor(enable.lat / 2);
      const probe: VaultReq = { t: { us: probeUs, ns: 411 }, lat: 0, id: sim.requestId(), jobId: null, op: 'update', path: 'sys/audit/test', remote: '', port: 0, requestOnly: true, onlyDevice: RAW_DEVICE };
      sim.push(probe);
      sim.serverLog(rawFrom + 5_000, `[INFO]  core: enabled audit backend: path=${RAW_DEVICE}/ type=file`);
      developerSession(sim, dev, rawFrom + 4 * MINUTE_US);
      const disableUs = rawFrom + 20 * MINUTE_US;
      const disable = sim.call({ us: disableUs, token, mount: sys, op: 'delete', path: `sys/audit/${RAW_DEVICE}`, ip, port, jobId: null, noResponse: true });
      sim.serverLog(disableUs + 5_000, `[INFO]  core: disabled audit backend: path=${RAW_DEVICE}/`);
      sim.rawWindow = { from: probeUs + 1, to: disable.t.us };
      add('audit-device-changed', [enable, disable], null, `sys/audit/${RAW_DEVICE} enabled (log_raw=true) and, 20 minutes later, deleted`);
      // raw-audit-logging evidence: the requests the raw device wrote in clear (filled in as they are written).
      sim.anomalies.push({ rule: 'raw-audit-logging', request_ids: sim.rawRequests, job_id: null, note: `device ${RAW_DEVICE} (vault/vault-1/${RAW_DEVICE}/) logs clear hvs. tokens and accessors for 20 minutes` });
    },
  });
  sim.anomalies.push({ rule: 'audit-gap', request_ids: sim.gapRequests, job_id: null, note: 'socket-audit silent for 90 minutes while file-audit logs; request_ids = requests only file-audit logged meanwhile (first 100)' });

  // Admin changes: policy, auth method, JWT role, mounts, excessive TTL, orphan token, then that static token reads an owned path.
  actions.push({
    us: at(2, 15, 0),
    run: () => {
      const t0 = at(2, 15, 0);
      const ip = officeIp(ops);
      const { token } = oidcLogin(sim, ops, t0, ip, true);
      const port = sim.port();
      const sys = org.mounts.sys;
      let t = t0 + 2 * MINUTE_US;
      const pw = policyWrite(sim, token, 'legacy-deploy', t, ip, port, 'delete');
      const pw2 = policyWrite(sim, token, `${pA.slug}-deploy`, (t += 40 * SECOND_US), ip, port);
      add('policy-changed', [pw, pw2], null, 'policy legacy-deploy deleted and a project deploy policy rewritten');
      const am1 = sim.call({ us: (t += 3 * MINUTE_US), token, mount: sys, op: 'update', path: 'sys/auth/approle', ip, port, jobId: null, noResponse: true,
        data: (d) => ({ config: { default_lease_ttl: hmacCached(d, ''), max_lease_ttl: hmacCached(d, '') }, description: hmacCached(d, ''), local: false, type: hmacCached(d, 'approle') }) });
      const am2 = sim.call({ us: (t += 50 * SECOND_US), token, mount: sys, op: 'update', path: 'sys/auth/jwt/tune', ip, port, jobId: null, noResponse: true,
        data: (d) => ({ default_lease_ttl: hmacCached(d, '8h') }) });
      add('auth-method-changed', [am1, am2], null, 'auth method approle enabled; auth/jwt tuned');
      const role = `${pA.slug}-deploy`;
      const jr = sim.call({ us: (t += 2 * MINUTE_US), token, mount: org.mounts.jwt, op: 'update', path: `auth/jwt/role/${role}`, ip, port, jobId: null, noResponse: true,
        data: (d) => ({ bound_audiences: hmacCached(d, 'https://vault.acme.example'), bound_claims: { project_id: hmacCached(d, String(pA.id)) }, policies: [hmacCached(d, role)], role_type: hmacCached(d, 'jwt'), token_explicit_max_ttl: hmacCached(d, '120'), user_claim: hmacCached(d, 'user_email') }) });
      add('jwt-role-changed', [jr], null, `auth/jwt/role/${role} rewritten without the ref_protected bound claim`);
      const m1 = sim.call({ us: (t += 3 * MINUTE_US), token, mount: sys, op: 'update', path: 'sys/mounts/transit', ip, port, jobId: null, noResponse: true,
        data: (d) => ({ config: { default_lease_ttl: hmacCached(d, ''), max_lease_ttl: hmacCached(d, '') }, description: hmacCached(d, ''), local: false, seal_wrap: false, type: hmacCached(d, 'transit') }) });
      const m2 = sim.call({ us: (t += 45 * SECOND_US), token, mount: sys, op: 'update', path: 'sys/mounts/kv/tune', ip, port, jobId: null, noResponse: true,
        data: (d) => ({ max_lease_ttl: hmacCached(d, '768h') }) });
      add('mount-changed', [m1, m2], null, 'transit mounted; kv tuned');
      const long = tokenCreate(sim, token, (t += 4 * MINUTE_US), ip, port, { ttl: 2_592_000, ttlText: '720h', policies: ['default', `${pA.slug}-ci`], orphan: false });
      add('token-ttl-excessive', [long.req], null, 'auth/token/create with ttl 720h (token_ttl 2592000 > 90000)');
      const orphan = tokenCreate(sim, token, (t += 2 * MINUTE_US), ip, port, { ttl: 86_400, ttlText: '24h', policies: ['default', `${pB.slug}-ci`], orphan: true });
      add('orphan-token-created', [orphan.req], null, 'auth/token/create-orphan (ttl 24h) by an operator');
      const path = kvPath(pB, 'staging', 'api-key');
      const read = sim.call({ us: t + 50 * MINUTE_US, token: orphan.token, mount: org.mounts.kv, op: 'read', path, ip: '10.30.4.17', port: sim.port(), jobId: null, respData: sim.kvData(path) });
      add('unattributed-secret-access', [read], null, `the orphan static token (display_name "token") reads ${path} (owned by ${pB.fullPath})`);
    },
  });

  // permission-denied-burst: one developer token, 14 denied reads in 3 minutes.
  actions.push({
    us: at(3, 10, 20),
    run: () => {
      const t0 = at(3, 10, 20);
      const ip = officeIp(dev);
      const { token } = oidcLogin(sim, dev, t0, ip, false);
      const port = sim.port();
      const reqs: VaultReq[] = [];
      for (let i = 0; i < 14; i++) {
        reqs.push(sim.call({ us: t0 + MINUTE_US + i * 12 * SECOND_US, token, mount: org.mounts.kv, op: 'read', path: `kv/data/finance/payroll/${2020 + i}`, ip, port, jobId: null, denied: true }));
      }
      add('permission-denied-burst', reqs, null, `14 reads of kv/data/finance/payroll/* denied within 3 minutes for one token (${token.displayName}) from ${ip}`);
    },
  });

  // login-failure-burst: 12 failed JWT logins from one address for one role.
  actions.push({
    us: at(3, 16, 40),
    run: () => {
      const t0 = at(3, 16, 40);
      const reqs: VaultReq[] = [];
      const claims = { user_email: 'unknown@example.net', user_login: 'unknown' };
      for (let i = 0; i < 12; i++) {
        reqs.push(sim.jwtLogin({ us: t0 + i * 9 * SECOND_US, role: pA.roles.deploy, claims, ip: ATTACKER_IP, port: sim.port(), jobId: null, forceFail: 'error validating token: token is expired' }).req);
      }
      add('login-failure-burst', reqs, null, `12 failed auth/jwt/login (role ${pA.roles.deploy.name}) from ${ATTACKER_IP} within 2 minutes`);
    },
  });

  // secret-enumeration: a list followed by reads of 12 distinct project secrets.
  actions.push({
    us: at(4, 14, 10),
    run: () => {
      const u = org.developers[5]!;
      const t0 = at(4, 14, 10);
      const ip = officeIp(u);
      const { token } = oidcLogin(sim, u, t0, ip, false);
      const port = sim.port();
      const kv = org.mounts.kv;
      const reqs: VaultReq[] = [];
      reqs.push(sim.call({ us: t0 + MINUTE_US, token, mount: kv, op: 'list', path: 'kv/metadata/', ip, port, jobId: null,
        respData: (d) => ({ keys: [...org.projects.map((p) => `${p.slug}/`), 'shared/'].map((k) => hmacCached(d, k)) }) }));
      const paths = org.projects.flatMap((p) => [kvPath(p, 'staging', 'api-key'), kvPath(p, 'staging', 'db'), kvPath(p, 'ci', 'registry')]).slice(0, 12);
      paths.forEach((path, i) => reqs.push(sim.call({ us: t0 + MINUTE_US + (i + 1) * 14 * SECOND_US, token, mount: kv, op: 'read', path, ip, port, jobId: null, respData: sim.kvData(path) })));
      add('secret-enumeration', reqs, null, `${token.displayName} lists kv/metadata/ then reads ${paths.length} distinct secrets within 4 minutes`);
    },
  });

  // unexpected-source-ip: a CI job whose Vault calls come from outside the runner CIDRs.
  actions.push({
    us: at(1, 14, 25),
    run: async () => {
      let reqs: VaultReq[] = [];
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(1, 14, 25), name: 'integration-tests', ref: 'main', vault: (s, job, spec) => {
        job.sourceIp = OUTSIDE_IP;
        reqs = s.capture(() => defaultScripted(s, job, spec, true));
      } });
      add('unexpected-source-ip', reqs, jobs[0]!.id, `job ${jobs[0]!.id} (${pA.fullPath}) calls Vault from ${OUTSIDE_IP}, outside detections.runner_cidrs`);
    },
  });

  // token-multi-ip: one job token used from two runner addresses.
  actions.push({
    us: at(2, 11, 15),
    run: async () => {
      let reqs: VaultReq[] = [];
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(2, 11, 15), name: 'integration-tests', ref: 'main', vault: (s, job, spec) => {
        job.sourceIp = runnerIp;
        reqs = s.capture(() => {
          const claims = s.claims(job, pA, spec.refClaim, 'branch', true);
          const login = s.jwtLogin({ us: job.startedUs! + 3 * SECOND_US, role: pA.roles.ci, claims, ip: runnerIp, port: s.port(), jobId: job.id });
          const tok = login.token!;
          const path = kvPath(pA, 'staging', 'db');
          s.call({ us: job.startedUs! + 5 * SECOND_US, token: tok, mount: org.mounts.kv, op: 'read', path, ip: runnerIp, port: s.port(), jobId: job.id, respData: s.kvData(path) });
          s.call({ us: job.startedUs! + 9 * SECOND_US, token: tok, mount: org.mounts.kv, op: 'read', path, ip: '10.20.0.31', port: s.port(), jobId: job.id, respData: s.kvData(path) });
          s.revokeSelf({ us: job.finishedUs! - SECOND_US, token: tok, ip: runnerIp, port: s.port(), jobId: job.id });
        });
      } });
      add('token-multi-ip', reqs, jobs[0]!.id, `job ${jobs[0]!.id}'s token is used from ${runnerIp} and 10.20.0.31`);
    },
  });

  // token-used-after-job: a token (misconfigured role, ttl 3600) read again 25 minutes after its job finished.
  actions.push({
    us: at(3, 13, 5),
    run: async () => {
      let late: VaultReq[] = [];
      let all: VaultReq[] = [];
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(3, 13, 5), name: 'integration-tests', ref: 'main', vault: (s, job, spec) => {
        job.sourceIp = runnerIp;
        const claims = s.claims(job, pA, spec.refClaim, 'branch', true);
        all = s.capture(() => {
          const login = s.jwtLogin({ us: job.startedUs! + 3 * SECOND_US, role: pA.roles.ci, claims, ip: runnerIp, port: s.port(), jobId: job.id, ttl: 3600 });
          const tok = login.token!;
          const path = kvPath(pA, 'staging', 'api-key');
          s.call({ us: job.startedUs! + 6 * SECOND_US, token: tok, mount: org.mounts.kv, op: 'read', path, ip: runnerIp, port: s.port(), jobId: job.id, respData: s.kvData(path) });
          late = s.capture(() => {
            s.call({ us: job.finishedUs! + 25 * MINUTE_US, token: tok, mount: org.mounts.kv, op: 'read', path, ip: runnerIp, port: s.port(), jobId: job.id, respData: s.kvData(path) });
          });
          s.tokenExpires(tok, []);
        });
      } });
      add('token-used-after-job', late, jobs[0]!.id, `job ${jobs[0]!.id}'s token (token_ttl 3600) reads ${kvPath(pA, 'staging', 'api-key')} 25 minutes after the job finished (also outlives the job)`);
      void all;
    },
  });

  // lease-outlived-job: database lease left to its 1 h TTL under a 1 h token; the server log shows the late expiry.
  actions.push({
    us: at(4, 10, 45),
    run: async () => {
      let reqs: VaultReq[] = [];
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(4, 10, 45), name: 'integration-tests', ref: 'main', vault: (s, job, spec) => {
        job.sourceIp = runnerIp;
        const claims = s.claims(job, pA, spec.refClaim, 'branch', true);
        reqs = s.capture(() => {
          const login = s.jwtLogin({ us: job.startedUs! + 4 * SECOND_US, role: pA.roles.ci, claims, ip: runnerIp, port: s.port(), jobId: job.id, ttl: 3600 });
          const tok = login.token!;
          const d = s.dbCreds({ us: job.startedUs! + 6 * SECOND_US, token: tok, role: `${pA.slug}-ci`, ip: runnerIp, port: s.port(), jobId: job.id });
          s.leaseRevokedLog(job.startedUs! + 6 * SECOND_US + 3600 * SECOND_US, d.leaseId);
          s.tokenExpires(tok, []);
        });
      } });
      add('lease-outlived-job', reqs, jobs[0]!.id, `job ${jobs[0]!.id} leaves its database lease (and 1 h token) open; server.log revokes the lease 1 h after issue`);
    },
  });

  // cross-project-access: a job of one project reads another project's secret.
  actions.push({
    us: at(2, 16, 10),
    run: async () => {
      let reqs: VaultReq[] = [];
      const path = kvPath(pB, 'staging', 'db');
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(2, 16, 10), name: 'deploy-staging', stage: 'deploy', ref: 'main', vault: (s, job, spec) => {
        const claims = s.claims(job, pA, spec.refClaim, 'branch', true);
        const res = s.runnerSecret(job, pA.roles.ci, claims, job.startedUs! + SECOND_US, path, job.sourceIp!);
        reqs = [res.reqs[1]!];
      } });
      add('cross-project-access', reqs, jobs[0]!.id, `job ${jobs[0]!.id} of ${pA.fullPath} reads ${path} (owned by ${pB.fullPath})`);
    },
  });

  // unprotected-ref-prod-secret: a feature-branch job reads a production secret.
  actions.push({
    us: at(3, 11, 30),
    run: async () => {
      let reqs: VaultReq[] = [];
      const path = kvPath(pA, 'production', 'db');
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(3, 11, 30), name: 'integration-tests', ref: 'feature/hotfix-login', refProtected: false, vault: (s, job, spec) => {
        const claims = s.claims(job, pA, spec.refClaim, 'branch', false);
        const res = s.runnerSecret(job, pA.roles.ci, claims, job.startedUs! + SECOND_US, path, job.sourceIp!);
        reqs = [res.reqs[1]!];
      } });
      add('unprotected-ref-prod-secret', reqs, jobs[0]!.id, `job ${jobs[0]!.id} on unprotected ref feature/hotfix-login reads ${path}`);
    },
  });

  // untrusted-pipeline-source: a web-triggered pipeline reads production secrets.
  actions.push({
    us: at(4, 12, 20),
    run: async () => {
      let reqs: VaultReq[] = [];
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(4, 12, 20), name: 'deploy-production', stage: 'deploy', ref: 'main', source: 'web', vault: (s, job, spec) => {
        const claims = s.claims(job, pA, spec.refClaim, 'branch', true);
        const res = s.runnerSecret(job, pA.roles.deploy, claims, job.startedUs! + SECOND_US, kvPath(pA, 'production', 'api-key'), job.sourceIp!);
        reqs = [res.reqs[1]!];
      } });
      add('untrusted-pipeline-source', reqs, jobs[0]!.id, `job ${jobs[0]!.id} of a web (manual) pipeline reads ${kvPath(pA, 'production', 'api-key')}`);
    },
  });

  // job-not-found: claims naming a job GitLab never ran.
  actions.push({
    us: at(1, 15, 50),
    run: () => {
      const fakeJob = 9_990_001;
      const fakePipeline = 9_990_000;
      const u = member(pA);
      const claims: Record<string, string> = {
        job_id: String(fakeJob), job_project_id: String(pA.id), job_project_path: pA.fullPath, namespace_path: pA.namespace.full_path,
        pipeline_id: String(fakePipeline), pipeline_source: 'push', project_id: String(pA.id), project_path: pA.fullPath,
        ref: 'main', ref_protected: 'true', ref_type: 'branch', user_email: u.email, user_login: u.username,
      };
      const t0 = at(1, 15, 50);
      const login = sim.jwtLogin({ us: t0, role: pA.roles.ci, claims, ip: runnerIp, port: sim.port(), jobId: fakeJob });
      const path = kvPath(pA, 'staging', 'api-key');
      const read = sim.call({ us: t0 + 2 * SECOND_US, token: login.token!, mount: org.mounts.kv, op: 'read', path, ip: runnerIp, port: sim.port(), jobId: fakeJob, respData: sim.kvData(path) });
      sim.tokenExpires(login.token!, []);
      add('job-not-found', [login.req, read], fakeJob, `claims name job ${fakeJob} / pipeline ${fakePipeline}, absent from GitLab`);
    },
  });

  // claims-mismatch: during a real job, a login whose claims name that job with another pipeline and user.
  actions.push({
    us: at(2, 13, 40),
    run: async () => {
      const { jobs } = await oneJobPipeline(pA, { createdUs: at(2, 13, 40), name: 'unit-tests', ref: 'main', vault: () => undefined });
      const job = jobs[0]!;
      const other = org.developers.find((u) => u !== job.pipeline.user)!;
      const claims = sim.claims(job, pA, 'main', 'branch', true);
      claims.pipeline_id = String(job.pipeline.id - 17);
      claims.user_login = other.username;
      claims.user_email = other.email;
      const t0 = job.startedUs! + 20 * SECOND_US;
      const login = sim.jwtLogin({ us: t0, role: pA.roles.ci, claims, ip: job.sourceIp!, port: sim.port(), jobId: job.id });
      const path = kvPath(pA, 'staging', 'db');
      const read = sim.call({ us: t0 + 2 * SECOND_US, token: login.token!, mount: org.mounts.kv, op: 'read', path, ip: job.sourceIp!, port: sim.port(), jobId: job.id, respData: sim.kvData(path) });
      sim.tokenExpires(login.token!, []);
      add('claims-mismatch', [login.req, read], job.id, `claims name job ${job.id} but pipeline ${claims.pipeline_id} (GitLab: ${job.pipeline.id}) and user ${other.username} (GitLab: ${job.pipeline.user.username})`);
    },
  });

  // off-hours-human-access: a person reads a production secret at 02:30 (a Saturday when the period has one).
  const offDay = days >= 6 ? 5 : 0;
  actions.push({
    us: at(offDay, 2, 30),
    run: () => {
      const u = org.developers[2]!;
      const t0 = at(offDay, 2, 30);
      const ip = '10.8.0.14';
      const { token } = oidcLogin(sim, u, t0, ip, false);
      const path = kvPath(pA, 'production', 'api-key');
      const read = sim.call({ us: t0 + 90 * SECOND_US, token, mount: org.mounts.kv, op: 'read', path, ip, port: sim.port(), jobId: null, respData: sim.kvData(path) });
      add('off-hours-human-access', [read], null, `${token.displayName} reads ${path} at 02:31 UTC from the VPN`);
    },
  });

  return actions;
}

/** An operator looking around (used to make sure a device logs during the gap). */
function operatorReview(sim: Sim, us: number): void {
  const u = sim.org.operators[1]!;
  const ip = officeIp(u);
  const { token } = oidcLogin(sim, u, us, ip, true);
  sim.call({ us: us + 40 * SECOND_US, token, mount: sim.org.mounts.sys, op: 'read', path: 'sys/mounts', ip, port: sim.port(), jobId: null,
    respData: (d: Device) => ({ 'kv/': { type: hmacCached(d, 'kv') } }) });
}

function defaultScripted(sim: Sim, job: JobRec, spec: PipelineSpec, revoke: boolean): void {
  const p = spec.project;
  const claims = sim.claims(job, p, spec.refClaim, spec.refType, spec.refProtected);
  sim.scriptedFlow(job, p.roles.ci, claims, { dbRole: p.hasDb ? `${p.slug}-ci` : null, kvPath: kvPath(p, 'staging', 'db'), revoke, headers: false });
}

export type { Token };
export { defaultJobVault };
