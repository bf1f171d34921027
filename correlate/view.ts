import type Database from 'better-sqlite3';
import { requestKeys } from '../db/request-key.js';

/** The audit_entries columns the correlator reads. */
export interface EntryRow {
  id: number;
  request_id: string;
  type: string;
  time: string;
  time_key: string;
  operation: string | null;
  path: string | null;
  namespace_path: string | null;
  mount_point: string | null;
  mount_type: string | null;
  mount_class: string | null;
  remote_address: string | null;
  display_name: string | null;
  entity_id: string | null;
  token_type: string | null;
  token_ttl: number | null;
  token_issue_time: string | null;
  policies: string | null;
  metadata: string | null;
  correlation_id: string | null;
  error: string | null;
  response_error: number;
  issued_display_name: string | null;
  issued_entity_id: string | null;
  issued_token_type: string | null;
  issued_token_ttl: number | null;
  issued_policies: string | null;
  issued_metadata: string | null;
  issued_orphan: number | null;
  lease_id: string | null;
}

/** One device's copy of an entry: its time and the HMACs of its own salt domain. */
export interface CopyRow {
  id: number;
  entry_id: number;
  device: string;
  time: string;
  time_key: string;
  accessor: string | null;
  client_token: string | null;
  issued_accessor: string | null;
  issued_client_token: string | null;
  data_token: string | null;
  data_accessor: string | null;
  data_lease_id: string | null;
}

/** Everything stored about one request id: its request and response entries and every device's copies. */
export interface RequestView {
  requestId: string;
  req: EntryRow | null;
  resp: EntryRow | null;
  reqCopies: CopyRow[];
  respCopies: CopyRow[];
}

const ENTRY_FIELDS = [
  'id', 'request_id', 'type', 'time', 'time_key', 'operation', 'path', 'namespace_path', 'mount_point', 'mount_type',
  'mount_class', 'remote_address', 'display_name', 'entity_id', 'token_type', 'token_ttl', 'token_issue_time', 'policies',
  'metadata', 'correlation_id', 'error', 'response_error', 'issued_display_name', 'issued_entity_id', 'issued_token_type',
  'issued_token_ttl', 'issued_policies', 'issued_metadata', 'issued_orphan', 'lease_id',
] as const satisfies readonly (keyof EntryRow)[];
const COPY_FIELDS = [
  'id', 'entry_id', 'device', 'time', 'time_key', 'accessor', 'client_token', 'issued_accessor', 'issued_client_token',
  'data_token', 'data_accessor', 'data_lease_id',
] as const satisfies readonly (keyof CopyRow)[];

/**
 * Rows are read as arrays (better-sqlite3 `raw` mode) and wrapped in an object whose fields are getters on a
 * shared prototype: materialising every row as an object with thirty named properties cost more than the
 * query itself, on the correlator's largest read.
 */
function rowClass<T>(fields: readonly string[]): new (values: unknown[]) => T {
  class Row {
    constructor(readonly values: unknown[]) {}
  }
  fields.forEach((name, i) => {
    Object.defineProperty(Row.prototype, name, {
      get(this: Row) {
        return this.values[i];
      },
      enumerable: true,
    });
  });
  return Row as unknown as new (values: unknown[]) => T;
}

const EntryRecord = rowClass<EntryRow>(ENTRY_FIELDS);
const CopyRecord = rowClass<CopyRow>(COPY_FIELDS);
const ENTRY_ID = 0;
const COPY_ID = 0;
const COPY_ENTRY_ID = 1;

/** The request keys of request ids, as the JSON array json_each reads. */
function keysOf(requestIds: readonly string[]): string {
  return JSON.stringify(requestIds.flatMap(requestKeys));
}

/** Loads request views in bulk (a few queries per call, never one per request). */
export class ViewLoader {
  private readonly entries: Database.Statement;
  private readonly copies: Database.Statement;
  private readonly entryRange: Database.Statement;
  private readonly copyRange: Database.Statement;

  constructor(sqlite: Database.Database) {
    const entryColumns = ENTRY_FIELDS.join(', ');
    const copyColumns = COPY_FIELDS.join(', ');
    // By request key (db/request-key.ts); an entry of another id that hashes alike is dropped by `take`.
    this.entries = sqlite.prepare(`SELECT ${entryColumns} FROM audit_entries WHERE request_key IN (SELECT value FROM json_each(?))`).raw(true);
    this.copies = sqlite.prepare(`SELECT ${copyColumns} FROM audit_copies WHERE entry_id IN (SELECT value FROM json_each(?))`).raw(true);
    this.entryRange = sqlite.prepare(`SELECT ${entryColumns} FROM audit_entries WHERE id BETWEEN ? AND ?`).raw(true);
    this.copyRange = sqlite.prepare(`SELECT ${copyColumns} FROM audit_copies WHERE entry_id BETWEEN ? AND ?`).raw(true);
  }

  /**
   * The views of `requestIds`. `entryIds` (the entries the new copies point at), when dense enough, lets the
   * bulk of entries and copies come from two range scans; what the ranges miss (the other half of a pair
   * stored earlier) is fetched by request id.
   */
  load(requestIds: string[], entryIds: { min: number; max: number } | null = null): Map<string, RequestView> {
    const views = new Map<string, RequestView>();
    for (const id of requestIds) views.set(id, { requestId: id, req: null, resp: null, reqCopies: [], respCopies: [] });
    if (requestIds.length === 0) return views;
    const byEntry = new Map<number, { view: RequestView; type: string }>();
    const take = (values: unknown[]) => {
      const e = new EntryRecord(values);
      const view = e.request_id === null ? undefined : views.get(e.request_id);
      if (!view || byEntry.has(values[ENTRY_ID] as number)) return;
      if (e.type === 'response') view.resp = e;
      else view.req = e;
      byEntry.set(e.id, { view, type: e.type });
    };
    const ranged = entryIds !== null && entryIds.max - entryIds.min < 4 * requestIds.length + 1000;
    if (ranged) {
      for (const e of this.entryRange.iterate(entryIds.min, entryIds.max) as Iterable<unknown[]>) take(e);
      const incomplete = requestIds.filter((id) => {
        const v = views.get(id)!;
        return !v.req || !v.resp;
      });
      if (incomplete.length) for (const e of this.entries.iterate(keysOf(incomplete)) as Iterable<unknown[]>) take(e);
    } else {
      for (const e of this.entries.iterate(keysOf(requestIds)) as Iterable<unknown[]>) take(e);
    }
    if (byEntry.size === 0) return views;
    const seenCopies = new Set<number>();
    const place = (values: unknown[]) => {
      const owner = byEntry.get(values[COPY_ENTRY_ID] as number);
      const id = values[COPY_ID] as number;
      if (!owner || seenCopies.has(id)) return;
      seenCopies.add(id);
      if (owner.type === 'response') owner.view.respCopies.push(new CopyRecord(values));
      else owner.view.reqCopies.push(new CopyRecord(values));
    };
    if (ranged) {
      for (const c of this.copyRange.iterate(entryIds.min, entryIds.max) as Iterable<unknown[]>) place(c);
      const outside = [...byEntry.keys()].filter((id) => id < entryIds.min || id > entryIds.max);
      if (outside.length) for (const c of this.copies.iterate(JSON.stringify(outside)) as Iterable<unknown[]>) place(c);
    } else {
      for (const c of this.copies.iterate(JSON.stringify([...byEntry.keys()])) as Iterable<unknown[]>) place(c);
    }
    // Copies in the order they were stored, so "the first device" never depends on how they were read.
    for (const v of views.values()) {
      if (v.reqCopies.length > 1) v.reqCopies.sort((a, b) => a.id - b.id);
      if (v.respCopies.length > 1) v.respCopies.sort((a, b) => a.id - b.id);
    }
    return views;
  }
}

/** The entry that says the most about a request: the response repeats the whole request. */
export function mainEntry(v: RequestView): EntryRow {
  return (v.resp ?? v.req)!;
}

export function allCopies(v: RequestView): CopyRow[] {
  return [...v.reqCopies, ...v.respCopies];
}

/** The copy the earliest device logged (ties broken by device name): independent of ingest order. */
export function earliestCopy(copies: CopyRow[]): CopyRow | undefined {
  let first: CopyRow | undefined;
  for (const c of copies) {
    if (!first || c.time_key < first.time_key || (c.time_key === first.time_key && c.device < first.device)) first = c;
  }
  return first;
}

/** A request that succeeded: a response without a top-level error or a `response.data.error`. */
export function succeeded(v: RequestView): boolean {
  return v.resp !== null && !v.resp.error && !v.resp.response_error && !(v.req?.error);
}

/** What kind of request a path is, for token and lease lineage. */
export type RequestKind =
  | 'login'
  | 'token-create'
  | 'token-renew-self'
  | 'token-renew'
  | 'token-renew-accessor'
  | 'token-revoke-self'
  | 'token-revoke'
  | 'token-revoke-orphan'
  | 'token-revoke-accessor'
  | 'lease-renew'
  | 'lease-revoke'
  | 'lease-revoke-prefix'
  | 'lease-revoke-force'
  | 'other';

const LEASE_PATH = /^sys\/(?:leases\/)?(renew|revoke|revoke-prefix|revoke-force)(?:\/(.*))?$/;

export function classifyPath(path: string | null): { kind: RequestKind; target: string | null } {
  if (!path) return { kind: 'other', target: null };
  if (path.startsWith('auth/token/')) {
    const op = path.slice('auth/token/'.length).split('/')[0];
    switch (op) {
      case 'create':
      case 'create-orphan':
        return { kind: 'token-create', target: null };
      case 'renew-self':
        return { kind: 'token-renew-self', target: null };
      case 'renew':
        return { kind: 'token-renew', target: null };
      case 'renew-accessor':
        return { kind: 'token-renew-accessor', target: null };
      case 'revoke-self':
        return { kind: 'token-revoke-self', target: null };
      case 'revoke':
        return { kind: 'token-revoke', target: null };
      case 'revoke-orphan':
        return { kind: 'token-revoke-orphan', target: null };
      case 'revoke-accessor':
        return { kind: 'token-revoke-accessor', target: null };
      default:
        return { kind: 'other', target: null };
    }
  }
  if (path.startsWith('auth/')) return { kind: 'login', target: null };
  const m = LEASE_PATH.exec(path);
  if (m) {
    const target = m[2] ? m[2] : null;
    switch (m[1]) {
      case 'renew':
        return { kind: 'lease-renew', target };
      case 'revoke':
        return { kind: 'lease-revoke', target };
      case 'revoke-prefix':
        return { kind: 'lease-revoke-prefix', target };
      default:
        return { kind: 'lease-revoke-force', target };
    }
  }
  return { kind: 'other', target: null };
}
