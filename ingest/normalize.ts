/**
 * The normalised columns of an audit entry (db/schema/ingest.ts) and the per-device fields of its copy.
 * Absent ≡ zero value (Vault writes every field omitempty since 1.2; pre-1.2 lines write "" and null), so
 * empty strings become null.
 */
import { toTimeKey, timeKeyToIso } from '../db/time.js';
import { requestKey } from '../db/request-key.js';
import { JsonTextMemo } from './json-memo.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const bool01 = (v: unknown): number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : null);
/**
 * JSON text memos (json-memo.ts), one per kind of value: a token's policies and token policies are usually the
 * same list, and a login response carries the issued token's metadata and policies as both the caller's and
 * the issued token's, so the columns of one kind share a memo.
 */
const policiesText = new JsonTextMemo();
const metadataText = new JsonTextMemo();
const warningsText = new JsonTextMemo();

/** request_data is kept for the correlator when it is small. */
export const MAX_REQUEST_DATA_BYTES = 16 * 1024;

/** audit_entries columns in insert order (id excluded). */
export const ENTRY_COLUMNS = [
  'request_id', 'type', 'time', 'time_key', 'operation', 'path', 'namespace_id', 'namespace_path', 'mount_point',
  'mount_type', 'mount_accessor', 'mount_class', 'remote_address', 'remote_port', 'display_name', 'entity_id',
  'token_type', 'token_ttl', 'token_issue_time', 'policies', 'token_policies', 'metadata', 'correlation_id', 'error',
  'response_error', 'issued_display_name', 'issued_entity_id', 'issued_token_type', 'issued_token_ttl',
  'issued_policies', 'issued_metadata', 'issued_num_uses', 'issued_orphan', 'lease_id', 'request_data', 'warnings',
  'request_key',
] as const;

/** The entry columns normaliseEntry fills with a number or null; every other one holds a string or null. */
export const NUMBER_ENTRY_COLUMNS: readonly (typeof ENTRY_COLUMNS)[number][] = [
  'remote_port', 'token_ttl', 'response_error', 'issued_token_ttl', 'issued_num_uses', 'issued_orphan', 'request_key',
];

/** A copy's columns that come from the line itself (HMACs of this device's salt), in insert order. */
export const COPY_HMAC_COLUMNS = [
  'accessor', 'client_token', 'request_client_token', 'request_token_accessor', 'issued_accessor',
  'issued_client_token', 'data_token', 'data_accessor', 'data_lease_id',
] as const;

/** `token_issue_time` is RFC3339 in the server's local offset: normalise it to UTC. */
export function issueTimeUtc(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  // A token's issue time repeats on every request it makes.
  if (v === lastIssueTime) return lastIssueTimeUtc;
  const key = toTimeKey(v);
  lastIssueTime = v;
  lastIssueTimeUtc = key ? timeKeyToIso(key) : v;
  return lastIssueTimeUtc;
}
let lastIssueTime: string | null = null;
let lastIssueTimeUtc: string | null = null;

/** `x-correlation-id` / `correlation-id` header (values are arrays of strings). */
export function correlationId(headers: unknown): string | null {
  const h = obj(headers);
  if (!h) return null;
  for (const name of ['x-correlation-id', 'correlation-id']) {
    const v = h[name];
    const first = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string' && first !== '') return first;
  }
  return null;
}

/** A mount field of the request, else of the response. A module function, not a closure per line: V8 optimised each new closure again. */
function mountField(request: Obj, response: Obj | undefined, key: string): string | null {
  return str(request[key]) ?? str(response?.[key]);
}

export interface NormalisedEntry {
  entry: unknown[];
  hmacs: unknown[];
}

export function normaliseEntry(e: Obj, requestId: string | null, type: string, time: string, timeKey: string): NormalisedEntry {
  const auth = obj(e.auth) ?? {};
  const request = obj(e.request) ?? {};
  const response = obj(e.response);
  const respAuth = obj(response?.auth);
  const namespace = obj(request.namespace);
  const data = obj(request.data);
  const respData = obj(response?.data);
  const secret = obj(response?.secret);
  let requestData: string | null = null;
  if (data && Object.keys(data).length > 0) {
    const json = JSON.stringify(data);
    if (Buffer.byteLength(json) <= MAX_REQUEST_DATA_BYTES) requestData = json;
  }
  const responseError = respData && respData.error !== undefined && respData.error !== null && respData.error !== '' ? 1 : 0;
  const entry: unknown[] = [
    requestId,
    type,
    time,
    timeKey,
    str(request.operation),
    typeof request.path === 'string' ? request.path : null,
    str(namespace?.id),
    str(namespace?.path),
    mountField(request, response, 'mount_point'),
    mountField(request, response, 'mount_type'),
    mountField(request, response, 'mount_accessor'),
    mountField(request, response, 'mount_class'),
    str(request.remote_address),
    num(request.remote_port),
    str(auth.display_name),
    str(auth.entity_id),
    str(auth.token_type),
    num(auth.token_ttl),
    issueTimeUtc(auth.token_issue_time),
    policiesText.array(auth.policies),
    policiesText.array(auth.token_policies),
    metadataText.object(auth.metadata),
    correlationId(request.headers),
    str(e.error),
    responseError,
    str(respAuth?.display_name),
    str(respAuth?.entity_id),
    str(respAuth?.token_type),
    num(respAuth?.token_ttl),
    policiesText.array(respAuth?.policies),
    metadataText.object(respAuth?.metadata),
    num(respAuth?.num_uses),
    bool01(respAuth?.orphan),
    str(secret?.lease_id),
    requestData,
    warningsText.array(response?.warnings),
    requestId === null ? null : requestKey(requestId, type),
  ];
  const hmacs: unknown[] = [
    str(auth.accessor),
    str(auth.client_token),
    str(request.client_token),
    str(request.client_token_accessor),
    str(respAuth?.accessor),
    str(respAuth?.client_token),
    str(data?.token),
    str(data?.accessor),
    str(data?.lease_id),
  ];
  return { entry, hmacs };
}
