import type { Generated } from 'kysely';

/**
 * Tables written by ingest/ (Vault audit devices and the Vault server log).
 * Booleans are INTEGER 0/1 and times are ISO-8601 text so the schema stays portable to PostgreSQL.
 * `time_key` columns hold the UTC time normalised to 9 fractional digits, so they sort and compare as text.
 */
export interface DevicesTable {
  name: string;
  /** 1 once values that are not HMAC'd (log_raw=true) were seen on this device. */
  log_raw: number;
  log_raw_detected_at: string | null;
  first_time_key: string | null;
  last_time_key: string | null;
}

/** A source file, known by the fingerprint of its first bytes rather than its path. */
export interface AuditFilesTable {
  fingerprint: string;
  kind: string; // 'audit' | 'server-log'
  device: string;
  path: string;
  /** Decompressed bytes consumed and committed. */
  offset: number;
  lines: number;
  /** 1 when the file can never grow again (gzipped rotation). */
  complete: number;
  updated_at: string;
}

/**
 * One committed batch: its exact bytes (compressed), their hash, chained per device. Offsets are decompressed
 * byte offsets in the source file (for a socket device, in the device's virtual stream). Server-log batches
 * use the device name `server-log:<file base name>`. Stored bytes differ from the original bytes only for a
 * redacted log_raw device, an oversized line (its bytes are hashed but not kept) or a torn tail of a gzipped
 * rotation (stored with a newline); `stored_sha256` is always the hash of the decompressed raw_bytes.
 */
export interface IngestBatchesTable {
  id: Generated<number>;
  device: string;
  source: string; // 'file' | 'socket' | 'server-log'
  file_fingerprint: string | null;
  file_path: string | null;
  start_offset: number;
  end_offset: number;
  line_count: number;
  stored_count: number;
  duplicate_count: number;
  quarantined_count: number;
  /** SHA-256 (hex) of the original bytes read. */
  sha256: string;
  /** SHA-256 of the bytes kept in raw_bytes (differs from sha256 only for redacted log_raw devices). */
  stored_sha256: string;
  prev_chain_sha256: string | null;
  /** sha256(prev_chain_sha256 + stored_sha256): the per-device hash chain. */
  chain_sha256: string;
  /** The stored bytes, compressed with raw_codec (db/batch-bytes.ts); null once pruned. */
  raw_bytes: Uint8Array | null;
  raw_codec: Generated<string>;
  first_time_key: string | null;
  last_time_key: string | null;
  created_at: string;
}

/**
 * One Vault audit entry, deduplicated on (request_id, type) across devices and nodes. No constraint enforces
 * that (migration 0007 replaced the unique index with `request_key`): ingest does, probing the key inside its
 * write transaction. Every writer of this table must set `request_key` and probe the same way, or go through
 * `IngestStore`.
 */
export interface AuditEntriesTable extends CopyHmacColumns {
  id: Generated<number>;
  request_id: string | null;
  type: string; // 'request' | 'response'
  /** requestKey(request_id, type) (db/request-key.ts), indexed; null without a request id. Not unique. */
  request_key: number | null;
  /** Time as the first device logged it, precision kept. */
  time: string;
  time_key: string;
  operation: string | null;
  path: string | null;
  namespace_id: string | null;
  namespace_path: string | null;
  mount_point: string | null;
  mount_type: string | null;
  mount_accessor: string | null;
  mount_class: string | null;
  remote_address: string | null;
  remote_port: number | null;
  /** Caller identity (top-level auth). */
  display_name: string | null;
  entity_id: string | null;
  token_type: string | null;
  token_ttl: number | null;
  token_issue_time: string | null; // UTC
  policies: string | null; // JSON array
  token_policies: string | null; // JSON array
  metadata: string | null; // JSON object (claim mappings, role)
  /** x-correlation-id or correlation-id header value (clear since Vault 1.17). */
  correlation_id: string | null;
  /** Top-level error text. */
  error: string | null;
  /** 1 when response.data.error is present (failed login, plugin error response). */
  response_error: number;
  /** Identity of a token issued by this request (response.auth). */
  issued_display_name: string | null;
  issued_entity_id: string | null;
  issued_token_type: string | null;
  issued_token_ttl: number | null;
  issued_policies: string | null; // JSON array
  issued_metadata: string | null; // JSON object
  issued_num_uses: number | null;
  issued_orphan: number | null;
  /** response.secret.lease_id (clear in every Vault version). */
  lease_id: string | null;
  /** request.data with HMAC'd strings kept (numbers and booleans clear); null when larger than 16 KiB. */
  request_data: string | null;
  /** response.warnings JSON array, when any. */
  warnings: string | null;
  // The first device's copy of the line (migration 0006): the entry's time is that copy's time; the id is
  // also the copy's id in `audit_copies`. Always set by ingest (nullable only for the migration's sake).
  device: string | null;
  batch_id: number | null;
  line_offset: number | null;
  line_length: number | null;
}

/** The HMACs a device's copy of a line carries (that device's salt domain). */
export interface CopyHmacColumns {
  accessor: string | null; // auth.accessor
  client_token: string | null; // auth.client_token
  request_client_token: string | null; // request.client_token (never join on it)
  request_token_accessor: string | null; // request.client_token_accessor
  issued_accessor: string | null; // response.auth.accessor
  issued_client_token: string | null; // response.auth.client_token
  data_token: string | null; // request.data.token (auth/token/revoke*, lookup)
  data_accessor: string | null; // request.data.accessor (revoke-accessor)
  data_lease_id: string | null; // request.data.lease_id (body-form revoke/renew/lookup)
}

/** A copy of an entry logged by another device after the entry was stored (ids shared with audit_entries). */
export interface AuditExtraCopiesTable extends CopyHmacColumns {
  id: number;
  entry_id: number;
  device: string;
  time: string;
  time_key: string;
  batch_id: number;
  /** Offset and length of the stored line inside the batch's stored bytes. */
  line_offset: number;
  line_length: number;
}

/**
 * Each device's copy of an entry: its own time and the HMACs of its own salt domain. For a log_raw device the
 * token, accessor and data values are keytrail's keyed hash (`keytrail-hmac-sha256:<hex>`, key in `<db>.key`).
 * `ingest/index.ts` `readCopyRawLine(handle, copyId)` returns the stored line.
 *
 * A VIEW (migration 0006): the first copies held by `audit_entries` (id = entry_id, duplicate 0) and the later
 * ones in `audit_extra_copies` (duplicate 1). Read it; ingest writes the two tables.
 */
export interface AuditCopiesTable extends AuditExtraCopiesTable {
  /** 1 when this copy arrived after the entry was already stored. */
  duplicate: number;
}

export interface QuarantineTable {
  id: Generated<number>;
  device: string;
  source: string; // 'file' | 'socket' | 'server-log'
  file_path: string | null;
  file_fingerprint: string | null;
  byte_offset: number;
  byte_length: number;
  reason: string; // 'empty' | 'oversized' | 'invalid-json' | 'not-an-audit-entry' | 'jsonx' | 'torn'
  detail: string | null;
  /** First bytes of the line, with token-shaped values redacted. */
  excerpt: string | null;
  batch_id: number | null;
  created_at: string;
}

/** Vault server (operational) log events: lease revocations, seal/unseal, step-down, root generation. */
export interface ServerEventsTable {
  id: Generated<number>;
  time: string;
  time_key: string;
  kind: string; // 'lease-revoked' | 'seal' | 'unseal' | 'step-down' | 'root-generation' | ...
  lease_id: string | null;
  message: string;
  file_path: string | null;
  file_fingerprint: string | null;
  byte_offset: number;
  batch_id: number | null;
}

export interface IngestTables {
  devices: DevicesTable;
  audit_files: AuditFilesTable;
  ingest_batches: IngestBatchesTable;
  audit_entries: AuditEntriesTable;
  audit_copies: AuditCopiesTable;
  audit_extra_copies: AuditExtraCopiesTable;
  quarantine: QuarantineTable;
  server_events: ServerEventsTable;
}
