import type Database from 'better-sqlite3';
import type { CopyRow } from './view.js';
import { ColumnUpdates } from './column-updates.js';

/** A tokens row as the correlator keeps it in memory while a run works on it. */
export interface TokenRow {
  id: number;
  issue_request_id: string | null;
  issued_at: string | null;
  issued_time_key: string | null;
  accessor: string | null;
  token_type: string | null;
  auth_mount: string | null;
  role: string | null;
  display_name: string | null;
  entity_id: string | null;
  policies: string | null;
  metadata: string | null;
  ttl_seconds: number | null;
  orphan: number;
  parent_token_id: number | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  ref: string | null;
  attribution: string;
  attribution_evidence: string | null;
  verified: string | null;
  verify_detail: string | null;
  remote_addresses: string | null;
  request_count: number;
  last_used_time_key: string | null;
  last_renewed_at: string | null;
  revoked_at: string | null;
  revoke_kind: string | null;
  revoke_request_id: string | null;
  issued_remote_address: string | null;
  ends_at: string | null;
  end_inferred: number;
  job_finished_at: string | null;
  outlived_job: number | null;
}

const TOKEN_COLUMNS: (keyof TokenRow)[] = [
  'issue_request_id',
  'issued_at',
  'issued_time_key',
  'accessor',
  'token_type',
  'auth_mount',
  'role',
  'display_name',
  'entity_id',
  'policies',
  'metadata',
  'ttl_seconds',
  'orphan',
  'parent_token_id',
  'job_id',
  'pipeline_id',
  'project_id',
  'project_path',
  'user_login',
  'ref',
  'attribution',
  'attribution_evidence',
  'verified',
  'verify_detail',
  'remote_addresses',
  'request_count',
  'last_used_time_key',
  'last_renewed_at',
  'revoked_at',
  'revoke_kind',
  'revoke_request_id',
  'issued_remote_address',
  'ends_at',
  'end_inferred',
  'job_finished_at',
  'outlived_job',
];

function valuesOf(row: TokenRow): unknown[] {
  return TOKEN_COLUMNS.map((c) => row[c] ?? null);
}

export type HmacKind = 'accessor' | 'client_token';

/**
 * Token identity store: tokens and the per-device HMACs that name them. HMACs only compare within one
 * device (each audit device has its own salt), so every lookup is by (device, kind, hmac).
 */
export class TokenStore {
  private readonly rows = new Map<number, TokenRow>();
  /** device → kind → HMAC → token (null: known to name no token). */
  private readonly hmacs = new Map<string, Record<HmacKind, Map<string, number | null>>>();
  private cachedHmacs = 0;
  private readonly stmts;

  constructor(sqlite: Database.Database) {
    this.updates = new ColumnUpdates(sqlite, 'tokens', 'id', TOKEN_COLUMNS);
    this.stmts = {
      hmac: sqlite.prepare('SELECT token_id FROM token_hmacs WHERE device = ? AND kind = ? AND hmac = ?'),
      addHmac: sqlite.prepare('INSERT OR IGNORE INTO token_hmacs (device, kind, hmac, token_id) VALUES (?, ?, ?, ?)'),
      row: sqlite.prepare('SELECT * FROM tokens WHERE id = ?'),
      insert: sqlite.prepare("INSERT INTO tokens (attribution, orphan, request_count, end_inferred) VALUES ('none', 0, 0, 0)"),
    };
  }

  private domain(device: string, kind: HmacKind): Map<string, number | null> {
    let byKind = this.hmacs.get(device);
    if (!byKind) this.hmacs.set(device, (byKind = { accessor: new Map(), client_token: new Map() }));
    return byKind[kind];
  }

  lookup(device: string, kind: HmacKind, hmac: string | null): number | null {
    if (!hmac) return null;
    const domain = this.domain(device, kind);
    let id = domain.get(hmac);
    if (id === undefined) {
      id = (this.stmts.hmac.get(device, kind, hmac) as { token_id: number } | undefined)?.token_id ?? null;
      domain.set(hmac, id);
      this.cachedHmacs++;
    }
    return id;
  }

  /** Records that an HMAC names a token in one device's domain (the first mapping wins). */
  link(device: string, kind: HmacKind, hmac: string | null, tokenId: number): void {
    if (!hmac) return;
    if (this.lookup(device, kind, hmac) !== null) return;
    this.stmts.addHmac.run(device, kind, hmac, tokenId);
    this.domain(device, kind).set(hmac, tokenId); // replaces the null cached by lookup
  }

  /** The token named by any copy's caller (`auth.*`) or issued (`response.auth.*`) HMACs; the accessor first. */
  find(copies: CopyRow[], which: 'caller' | 'issued'): number | null {
    for (const c of copies) {
      const acc = which === 'caller' ? c.accessor : c.issued_accessor;
      const ct = which === 'caller' ? c.client_token : c.issued_client_token;
      const id = this.lookup(c.device, 'accessor', acc) ?? this.lookup(c.device, 'client_token', ct);
      if (id !== null) return id;
    }
    return null;
  }

  /** Every distinct token the copies name (several when devices learnt the same token separately). */
  findAll(copies: CopyRow[], which: 'caller' | 'issued'): number[] {
    const found: number[] = [];
    for (const c of copies) {
      for (const id of [
        this.lookup(c.device, 'accessor', which === 'caller' ? c.accessor : c.issued_accessor),
        this.lookup(c.device, 'client_token', which === 'caller' ? c.client_token : c.issued_client_token),
      ]) {
        if (id !== null && !found.includes(id)) found.push(id);
      }
    }
    return found;
  }

  /** Forgets a merged-away token and every cached HMAC (they now name the kept token). */
  forget(id: number): void {
    this.rows.delete(id);
    this.saved.delete(id);
    this.hmacs.clear();
    this.cachedHmacs = 0;
  }

  linkAll(copies: CopyRow[], which: 'caller' | 'issued', tokenId: number): void {
    for (const c of copies) {
      this.link(c.device, 'accessor', which === 'caller' ? c.accessor : c.issued_accessor, tokenId);
      this.link(c.device, 'client_token', which === 'caller' ? c.client_token : c.issued_client_token, tokenId);
    }
  }

  create(): TokenRow {
    const id = Number(this.stmts.insert.run().lastInsertRowid);
    const row = Object.fromEntries(TOKEN_COLUMNS.map((c) => [c, null])) as unknown as TokenRow;
    Object.assign(row, { id, attribution: 'none', orphan: 0, request_count: 0, end_inferred: 0 });
    this.rows.set(id, row);
    this.saved.set(id, valuesOf(row));
    return row;
  }

  get(id: number): TokenRow | null {
    let row = this.rows.get(id);
    if (!row) {
      row = this.stmts.row.get(id) as TokenRow | undefined;
      if (!row) return null;
      this.rows.set(id, row);
      this.saved.set(id, valuesOf(row));
    }
    return row;
  }

  /** Writes the columns that differ from what was last read or written (every column when that is unknown). */
  save(row: TokenRow): void {
    const values = valuesOf(row);
    const before = this.saved.get(row.id);
    this.saved.set(row.id, values);
    this.updates.write(row.id, values, before);
  }

  /** Each cached row's column values as last read from or written to the database. */
  private readonly saved = new Map<number, unknown[]>();
  private readonly updates: ColumnUpdates;

  /** Forgets cached rows (between chunks, so memory stays flat on big runs). */
  clearRows(): void {
    this.rows.clear();
    this.saved.clear();
    if (this.cachedHmacs > 500_000) {
      this.hmacs.clear();
      this.cachedHmacs = 0;
    }
  }
}
