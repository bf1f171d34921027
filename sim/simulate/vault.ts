import { createHmac } from 'node:crypto';
import { rfc3339Seconds, type SimTime } from './time.js';

/** One audit device: its name, HMAC salt and whether it logs raw (`log_raw=true`) values. */
export interface Device {
  name: string;
  salt: Buffer;
  raw: boolean;
  /** HMACs of long-lived values (role names, secret values) — bounded by the organisation's size. */
  cache: Map<string, string>;
}

export function makeDevice(name: string, salt: Buffer, raw = false): Device {
  return { name, salt, raw, cache: new Map() };
}

/** `hmac-sha256:<64 hex>` of a value with the device's salt; the clear value on a `log_raw` device. */
export function hmac(dev: Device, value: string): string {
  if (dev.raw) return value;
  return `hmac-sha256:${createHmac('sha256', dev.salt).update(value).digest('hex')}`;
}

/** Like `hmac`, cached: for values repeated across many entries. */
export function hmacCached(dev: Device, value: string): string {
  let v = dev.cache.get(value);
  if (v === undefined) {
    v = hmac(dev, value);
    dev.cache.set(value, v);
  }
  return v;
}

/** A Vault mount as the audit entries name it. */
export interface Mount {
  point: string;
  type: string;
  cls: 'auth' | 'secret';
  accessor: string;
  version: string;
}

/** A Vault token: the value the client sends (`external`), the decoded inner token, its accessor and identity. */
export interface Token {
  type: 'service' | 'batch';
  external: string;
  inner: string;
  accessor?: string;
  displayName: string;
  policies: string[];
  metadata?: Record<string, string>;
  entityId?: string;
  /** Creation TTL in seconds (0 = none, e.g. root). */
  ttl: number;
  issueUs: number;
  /** Per-device HMACs, computed once. */
  hm?: Map<Device, { ct: string; inner: string; acc?: string }>;
}

function tokenHmacs(dev: Device, tok: Token): { ct: string; inner: string; acc?: string } {
  if (!tok.hm) tok.hm = new Map();
  let v = tok.hm.get(dev);
  if (!v) {
    const ct = hmac(dev, tok.external);
    v = { ct, inner: tok.inner === tok.external ? ct : hmac(dev, tok.inner) };
    if (tok.accessor) v.acc = hmac(dev, tok.accessor);
    tok.hm.set(dev, v);
  }
  return v;
}

const ALLOWED = { allowed: true } as const;

/** The `auth` block of an entry made with `tok` (keys in alphabetical order, empty fields omitted). */
export function callerAuth(dev: Device, tok: Token, allowed: boolean): Record<string, unknown> {
  const h = tokenHmacs(dev, tok);
  const a: Record<string, unknown> = {};
  if (h.acc) a.accessor = h.acc;
  a.client_token = h.ct;
  a.display_name = tok.displayName;
  if (tok.entityId) a.entity_id = tok.entityId;
  if (tok.metadata) a.metadata = tok.metadata;
  a.policies = tok.policies;
  a.policy_results = allowed
    ? {
        allowed: true,
        granting_policies: [{ type: '' }, ...tok.policies.filter((p) => p !== 'default').map((name) => ({ name, namespace_id: 'root', type: 'acl' }))],
      }
    : { allowed: false };
  a.token_issue_time = rfc3339Seconds(tok.issueUs);
  a.token_policies = tok.policies;
  if (tok.ttl) a.token_ttl = tok.ttl;
  a.token_type = tok.type;
  return a;
}

/** The `auth` block describing a token just issued (login and token-create responses). */
export function issuedAuth(dev: Device, tok: Token, entityCreated: boolean): Record<string, unknown> {
  const h = tokenHmacs(dev, tok);
  const a: Record<string, unknown> = {};
  if (h.acc) a.accessor = h.acc;
  a.client_token = h.ct;
  a.display_name = tok.displayName;
  if (entityCreated) a.entity_created = true;
  if (tok.entityId) a.entity_id = tok.entityId;
  if (tok.metadata) a.metadata = tok.metadata;
  a.policies = tok.policies;
  a.token_policies = tok.policies;
  if (tok.ttl) a.token_ttl = tok.ttl;
  a.token_type = tok.type;
  return a;
}

/** One Vault request, rendered into a request and a response entry per audit device at write time. */
export interface VaultReq {
  t: SimTime;
  /** Response entry time after the request entry, in microseconds. */
  lat: number;
  id: string;
  /** Ground truth: the GitLab job behind the request, or null. */
  jobId: number | null;
  token?: Token;
  mount?: Mount;
  op: string;
  path: string;
  remote: string;
  port: number;
  data?: (dev: Device) => Record<string, unknown>;
  headers?: Record<string, string[]>;
  /** Denied by policy: `error` on both entries and `response.data.error`. */
  denied?: boolean;
  /** A failure carried only in `response.data.error` (failed logins). */
  respError?: string;
  respData?: (dev: Device) => Record<string, unknown>;
  /** The token issued by this request (login, token create). */
  issued?: Token;
  /** Login entries carry the issued token in the top-level `auth` of the response. */
  login?: boolean;
  entityCreated?: boolean;
  leaseId?: string;
  /** 204-style responses: the response entry has no `response` key (1.17). */
  noResponse?: boolean;
  /** Only a request entry (the `sys/audit/test` probe). */
  requestOnly?: boolean;
  /** Restricts the devices that log it (e.g. the probe goes to the new device only). */
  onlyDevice?: string;
  /** Extra top-level response headers for raw handlers (sys/generate-root). */
  respHeaders?: Record<string, string[]>;
}

const DEFAULT_AUTH = { token_type: 'default' } as const;
const LOGIN_AUTH = { policy_results: ALLOWED, token_type: 'default' } as const;

function requestBlock(dev: Device, r: VaultReq, forResponse: boolean): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  const tok = r.token;
  if (tok && tok.entityId && !r.login) q.client_id = tok.entityId;
  if (tok) {
    const h = tokenHmacs(dev, tok);
    q.client_token = h.inner;
    if (h.acc) q.client_token_accessor = h.acc;
  }
  if (r.data) q.data = r.data(dev);
  if (r.headers) q.headers = r.headers;
  q.id = r.id;
  const m = r.mount;
  if (m) {
    // The router sets mount_accessor: absent from read/list request entries, present once routed.
    if (forResponse || (r.op !== 'read' && r.op !== 'list')) q.mount_accessor = m.accessor;
    q.mount_class = m.cls;
    q.mount_point = m.point;
    q.mount_running_version = m.version;
    q.mount_type = m.type;
  }
  q.namespace = { id: 'root' };
  q.operation = r.op;
  q.path = r.path;
  if (r.remote) q.remote_address = r.remote;
  if (r.port) q.remote_port = r.port;
  return q;
}

function mountFields(target: Record<string, unknown>, m: Mount | undefined): void {
  if (!m) return;
  target.mount_accessor = m.accessor;
  target.mount_class = m.cls;
  target.mount_point = m.point;
  target.mount_running_plugin_version = m.version;
  target.mount_type = m.type;
}

const DENIED_MULTI = '1 error occurred:\n\t* permission denied\n\n';

/** The request entry of `r` for one device, without `time`/`type` (added by the writer). */
export function requestEntry(dev: Device, r: VaultReq): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  e.auth = r.token ? callerAuth(dev, r.token, !r.denied) : r.login ? LOGIN_AUTH : DEFAULT_AUTH;
  if (r.denied) e.error = 'permission denied';
  e.request = requestBlock(dev, r, false);
  return e;
}

/** The response entry of `r` for one device, without `time`/`type`. */
export function responseEntry(dev: Device, r: VaultReq): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (r.login && r.issued) e.auth = issuedAuth(dev, r.issued, !!r.entityCreated);
  else e.auth = r.token ? callerAuth(dev, r.token, !r.denied) : r.login ? LOGIN_AUTH : DEFAULT_AUTH;
  if (r.denied) e.error = DENIED_MULTI;
  e.request = requestBlock(dev, r, true);
  if (!r.noResponse) {
    const resp: Record<string, unknown> = {};
    if (r.issued) resp.auth = issuedAuth(dev, r.issued, !!r.entityCreated);
    if (r.denied) resp.data = { error: hmacCached(dev, DENIED_MULTI) };
    else if (r.respError) resp.data = { error: hmacCached(dev, r.respError) };
    else if (r.respData) resp.data = r.respData(dev);
    if (r.respHeaders) resp.headers = r.respHeaders;
    mountFields(resp, r.mount);
    if (r.leaseId) resp.secret = { lease_id: r.leaseId };
    e.response = resp;
  }
  return e;
}
