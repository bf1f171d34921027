import { nameHex } from './prng.js';
import { SHARED_SECRETS, type User } from './org.js';
import { hmac, hmacCached, type Token, type VaultReq } from './vault.js';
import { SECOND_US, MINUTE_US, type Sim } from './sim.js';

/** People using Vault directly: developers (OIDC, UI/CLI reads of shared secrets) and operators (admin work). */

export const OFFICE_PREFIX = '192.168.50.';

export function officeIp(u: User): string {
  return `${OFFICE_PREFIX}${10 + (u.id % 200)}`;
}

const OIDC_TTL = 28_800;

/** OIDC login through the UI/CLI: `auth_url` then `callback`; the token's display name is `oidc-<email>`. */
export function oidcLogin(sim: Sim, u: User, us: number, ip: string, admin: boolean): { token: Token; reqs: VaultReq[] } {
  const r = sim.rngHuman;
  const m = sim.org.mounts.oidc;
  const port = sim.port();
  const role = admin ? 'vault-admin' : 'developer';
  const a = sim.call({
    us, token: undefined, mount: m, op: 'update', path: 'auth/oidc/oidc/auth_url', ip, port, jobId: null,
    data: (dev) => ({ redirect_uri: hmacCached(dev, 'http://localhost:8250/oidc/callback'), role: hmacCached(dev, role) }),
    respData: (dev) => ({ auth_url: hmac(dev, `https://login.acme.example/authorize?state=${nameHex(16, us, u.id)}`) }),
  });
  const ent = sim.entity('oidc', u.email);
  const loginUs = us + r.int(4, 25) * SECOND_US;
  const token = sim.newServiceToken({
    displayName: `oidc-${u.email}`,
    policies: admin ? ['default', 'vault-admin'] : ['default', 'developer'],
    metadata: { email: u.email, role },
    entityId: ent.id,
    ttl: OIDC_TTL,
    issueUs: loginUs,
  });
  const code = r.base62(32);
  const state = r.base62(24);
  const cb: VaultReq = {
    t: sim.time(loginUs), lat: r.int(40_000, 250_000), id: sim.requestId(), jobId: null, mount: m, op: 'read',
    path: 'auth/oidc/oidc/callback', remote: ip, port, login: true, issued: token, entityCreated: ent.created,
    data: (dev) => ({ code: hmac(dev, code), state: hmac(dev, state) }),
  };
  sim.push(cb);
  sim.tokenExpires(token, [], 'auth/oidc/oidc/callback/');
  return { token, reqs: [a, cb] };
}

/** A developer's working session: lists and reads shared (unowned) secrets, looks up their token. */
export function developerSession(sim: Sim, u: User, us: number): VaultReq[] {
  const r = sim.rngHuman;
  const ip = officeIp(u);
  const { token, reqs } = oidcLogin(sim, u, us, ip, false);
  const port = sim.port();
  let t = us + r.int(30, 120) * SECOND_US;
  const kv = sim.org.mounts.kv;
  reqs.push(sim.call({ us: t, token, mount: sim.org.mounts.token, op: 'read', path: 'auth/token/lookup-self', ip, port, jobId: null,
    respData: (dev) => ({ accessor: hmac(dev, token.accessor!), display_name: hmacCached(dev, token.displayName), policies: token.policies.map((p) => hmacCached(dev, p)), ttl: OIDC_TTL - 60 }) }));
  const n = r.int(1, 4);
  for (let i = 0; i < n; i++) {
    t += r.int(20, 900) * SECOND_US;
    if (r.chance(0.4)) {
      reqs.push(sim.call({ us: t, token, mount: kv, op: 'list', path: 'kv/metadata/shared/', ip, port, jobId: null,
        respData: (dev) => ({ keys: SHARED_SECRETS.map((k) => hmacCached(dev, k)) }) }));
      t += r.int(5, 60) * SECOND_US;
    }
    const path = `kv/data/shared/${r.pick(SHARED_SECRETS)}`;
    reqs.push(sim.call({ us: t, token, mount: kv, op: 'read', path, ip, port, jobId: null, respData: sim.kvData(path) }));
  }
  return reqs;
}

/** An operator's session: reviews policies and mounts; sometimes updates a policy or creates a short-lived token. */
export function operatorSession(sim: Sim, u: User, us: number, opts: { writePolicy: boolean; createToken: boolean }): VaultReq[] {
  const r = sim.rngHuman;
  const ip = officeIp(u);
  const { token, reqs } = oidcLogin(sim, u, us, ip, true);
  const port = sim.port();
  const sys = sim.org.mounts.sys;
  const names = sim.org.projects.flatMap((p) => [`${p.slug}-ci`, `${p.slug}-deploy`]);
  let t = us + r.int(20, 90) * SECOND_US;
  reqs.push(sim.call({ us: t, token, mount: sys, op: 'list', path: 'sys/policies/acl', ip, port, jobId: null,
    respData: (dev) => ({ keys: ['default', 'developer', 'vault-admin', ...names].map((k) => hmacCached(dev, k)) }) }));
  t += r.int(10, 120) * SECOND_US;
  reqs.push(sim.call({ us: t, token, mount: sys, op: 'read', path: 'sys/mounts', ip, port, jobId: null,
    respData: (dev) => ({ 'database/': { type: hmacCached(dev, 'database') }, 'kv/': { type: hmacCached(dev, 'kv') } }) }));
  if (opts.writePolicy) {
    const name = r.pick(names);
    t += r.int(60, 600) * SECOND_US;
    reqs.push(policyWrite(sim, token, name, t, ip, port));
  }
  if (opts.createToken) {
    t += r.int(60, 600) * SECOND_US;
    reqs.push(tokenCreate(sim, token, t, ip, port, { ttl: 3600, ttlText: '1h', policies: ['default', 'developer'], orphan: false }).req);
  }
  return reqs;
}

export function policyWrite(sim: Sim, token: Token, name: string, us: number, ip: string, port: number, op = 'update'): VaultReq {
  const body = `path "kv/data/${name.replace(/-(ci|deploy)$/, '')}/*" { capabilities = ["read"] } # ${nameHex(8, us)}`;
  return sim.call({
    us, token, mount: sim.org.mounts.sys, op, path: `sys/policies/acl/${name}`, ip, port, jobId: null, noResponse: true,
    ...(op === 'delete' ? {} : { data: (dev: Parameters<typeof hmac>[0]) => ({ name: hmacCached(dev, name), policy: hmac(dev, body) }) }),
  });
}

export function tokenCreate(
  sim: Sim,
  parent: Token,
  us: number,
  ip: string,
  port: number,
  o: { ttl: number; ttlText: string; policies: string[]; orphan: boolean },
): { req: VaultReq; token: Token } {
  const issued = sim.newServiceToken({
    displayName: 'token',
    policies: o.policies,
    ...(o.orphan || !parent.entityId ? {} : { entityId: parent.entityId }),
    ttl: o.ttl,
    issueUs: us,
  });
  const req = sim.call({
    us, token: parent, mount: sim.org.mounts.token, op: 'update', path: o.orphan ? 'auth/token/create-orphan' : 'auth/token/create',
    ip, port, jobId: null, issued,
    data: (dev) => ({ display_name: hmacCached(dev, 'tooling'), policies: o.policies.map((p) => hmacCached(dev, p)), renewable: true, ttl: hmacCached(dev, o.ttlText) }),
    latMin: 2_000, latMax: 20_000,
  });
  sim.tokenExpires(issued, [], o.orphan ? 'auth/token/create-orphan/' : 'auth/token/create/');
  return { req, token: issued };
}

export { MINUTE_US };
