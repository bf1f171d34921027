import type { Generated } from 'kysely';

/**
 * Tables written by correlate/. `accesses` is the access row of CONTRACT.md ("Access rows"): one per
 * Vault request, with its attribution to a GitLab job and the verification of that attribution.
 */
export interface AccessesTable {
  request_id: string;
  time: string;
  time_key: string;
  devices: string; // sorted device names joined with ','
  operation: string | null;
  path: string | null;
  namespace: string; // "" for root
  mount_type: string | null;
  outcome: string; // 'ok' | 'denied' | 'error'
  remote_address: string | null;
  display_name: string | null;
  entity_id: string | null;
  auth_mount: string | null; // like 'auth/jwt/'
  role: string | null;
  token_accessor: string | null; // HMAC as the first device logged it
  token_id: number | null;
  lease_id: string | null; // issued, renewed or revoked by this request
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  ref: string | null;
  attribution: string; // 'claims' | 'correlation-id' | 'heuristic' | 'none'
  verified: string | null; // 'yes' | 'no' | 'unknown'; null when attribution is 'none'
  /** JSON: the contradictions found when verified = 'no', the evidence for heuristic attribution. */
  verify_detail: string | null;
  /** 'paired' | 'request-only' | 'response-only' */
  pairing: string;
  request_entry_id: number | null;
  response_entry_id: number | null;
  /** 1 for a secret access: path neither under sys/ nor under auth/. */
  is_secret_access: number;
}

export interface TokensTable {
  id: Generated<number>;
  /** The login (or token create) request that issued it; null when first seen only in use. */
  issue_request_id: string | null;
  issued_at: string | null;
  issued_time_key: string | null;
  /** Accessor HMAC (client_token HMAC for batch tokens) as the first device logged it. */
  accessor: string | null;
  token_type: string | null; // 'service' | 'batch'
  auth_mount: string | null;
  role: string | null;
  display_name: string | null;
  entity_id: string | null;
  policies: string | null; // JSON array
  metadata: string | null; // JSON object
  ttl_seconds: number | null;
  orphan: number;
  parent_token_id: number | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  user_login: string | null;
  ref: string | null;
  attribution: string;
  attribution_evidence: string | null; // JSON
  verified: string | null;
  verify_detail: string | null;
  remote_addresses: string | null; // JSON array of distinct addresses seen using it
  request_count: number;
  last_used_time_key: string | null;
  last_renewed_at: string | null;
  revoked_at: string | null;
  revoke_kind: string | null; // 'revoke-self' | 'revoke' | 'revoke-accessor' | 'revoke-orphan' | 'parent-revoked'
  revoke_request_id: string | null;
  /** Address the token was issued to (its login request's remote_address): the runner, for heuristics. */
  issued_remote_address: string | null;
  project_path: string | null;
  /** The token's end: revocation, or last renewal (or issue) + TTL. */
  ends_at: string | null;
  end_inferred: number;
  job_finished_at: string | null;
  /** 1 when it ended (or will end) after the job's finished_at + grace; null when unknown. */
  outlived_job: number | null;
}

/** Joins a device's HMAC (accessor or client token) to a token: HMACs only compare within one device. */
export interface TokenHmacsTable {
  device: string;
  kind: string; // 'accessor' | 'client_token'
  hmac: string;
  token_id: number;
}

export interface LeasesTable {
  lease_id: string;
  issued_at: string;
  issued_time_key: string;
  issue_request_id: string;
  token_id: number | null;
  mount_type: string | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  renew_count: number;
  last_renewed_at: string | null;
  ttl_seconds: number;
  ended_at: string | null;
  /** 'revoke' | 'revoke-prefix' | 'revoke-force' | 'token-revoked' | 'token-expired' | 'server-log' | 'inferred-ttl' */
  end_kind: string | null;
  end_request_id: string | null;
  end_inferred: number;
  job_finished_at: string | null;
  outlived_job: number | null;
}

/**
 * Renewals and ends recorded in the audit log or the server log, kept so that token and lease ends are a
 * function of everything seen (whatever order the data arrived in). Token targets given as HMACs keep
 * (device, hmac) until they resolve to a token.
 */
export interface LifecycleEventsTable {
  id: Generated<number>;
  /** Audit request id, or 'server-log:<server_events.id>'. */
  source_id: string;
  time: string;
  time_key: string;
  /** 'lease-renew' | 'lease-revoke' | 'lease-revoke-prefix' | 'lease-revoke-force' | 'lease-server-log'
   *  | 'token-renew' | 'token-revoke-self' | 'token-revoke' | 'token-revoke-orphan' | 'token-revoke-accessor' */
  kind: string;
  /** Exact lease id, or the prefix for prefix/force revokes. */
  lease_id: string | null;
  token_id: number | null;
  device: string | null;
  hmac_kind: string | null; // 'accessor' | 'client_token'
  hmac: string | null;
  /** TTL given by a token renewal response. */
  ttl_seconds: number | null;
}

export interface CorrelateTables {
  lifecycle_events: LifecycleEventsTable;
  accesses: AccessesTable;
  tokens: TokensTable;
  token_hmacs: TokenHmacsTable;
  leases: LeasesTable;
}
