import type { ChainState, RawLine } from './batches.js';
import type { Period } from './period.js';
import type { PopulationName } from './queries.js';

/** Figures of the completeness and accuracy section, written as completeness.json. */
export interface Completeness {
  period: { from: string; to: string };
  per_device_day: { device: string; day: string; lines_read: number; stored: number; duplicates: number; quarantined: number }[];
  totals: { lines_read: number; stored: number; duplicates: number; quarantined: number };
  quarantine_reasons: Record<string, number>;
  device_coverage: { device: string; first: string | null; last: string | null; lines: number }[];
  gap_threshold_minutes: number;
  audit_gaps: { device: string; gap_start: string; gap_end: string; minutes: number }[];
  pairing: { paired: number; request_only: number; response_only: number; total: number; rate: number | null };
  claimed_jobs: { claimed: number; found_in_gitlab: number; share: number | null };
  hash_chains: ChainState[];
}

export type ControlStatus = 'PASS' | 'FAIL' | 'MANUAL';

export interface ControlResult {
  id: string;
  title: string;
  status: ControlStatus;
  /** What the status rests on: figures, populations and findings, as sentences. */
  evidence: string[];
  /** The pass/fail rule, stated in the methodology. */
  rule: string;
  /** For MANUAL: what the reviewer has to establish. */
  reviewerTask?: string;
}

export interface FindingRow {
  id: number;
  rule: string;
  severity: string;
  status: string;
  title: string;
  detail: string;
  subject: string;
  first_seen: string;
  last_seen: string;
  count: number;
  mute_reason: string | null;
  mute_owner: string | null;
  triage_action: string | null;
  triage_note: string | null;
  triage_actor: string | null;
  triage_at: string | null;
}

export interface SampleRow {
  sample_no: number;
  selection_hash: string;
  request_id: string;
  time: string;
  devices: string;
  operation: string | null;
  path: string | null;
  outcome: string;
  remote_address: string | null;
  display_name: string | null;
  entity_id: string | null;
  auth_mount: string | null;
  role: string | null;
  token_accessor: string | null;
  attribution: string;
  verified: string | null;
  token_id: number | null;
  token_issued_at: string | null;
  token_claims: string | null;
  token_ends_at: string | null;
  token_outlived_job: number | null;
  lease_id: string | null;
  lease_issued_at: string | null;
  lease_ended_at: string | null;
  lease_end_kind: string | null;
  lease_outlived_job: number | null;
  job_id: number | null;
  job_name: string | null;
  job_project_id: number | null;
  job_project_path: string | null;
  job_pipeline_id: number | null;
  job_ref: string | null;
  job_user_login: string | null;
  job_status: string | null;
  job_started_at: string | null;
  job_finished_at: string | null;
  job_web_url: string | null;
  request_entry_id: number | null;
  audit_copy_id: number | null;
  raw: RawLine | null;
}

export interface SourcesInfo {
  devices: { name: string; log_raw: number; first: string | null; last: string | null }[];
  auditFiles: { device: string; kind: string; path: string; lines: number; bytes: number; complete: number }[];
  serverEventsInPeriod: number;
  gitlab: { url: string | null; projects: { id: number; path: string }[]; pipelinesInPeriod: number; jobsInPeriod: number };
  configSource: string | null;
}

export interface Summaries {
  perDay: { day: string; attribution: string; outcome: string; accesses: number }[];
  topPaths: { path: string; accesses: number; jobs: number; projects: number }[];
  perProject: { project: string; accesses: number; jobs: number; verified_yes: number; verified_no: number }[];
  lifetime: {
    kind: 'token' | 'lease';
    project: string;
    total: number;
    ended_with_job: number;
    outlived: number;
    unknown: number;
    no_job: number;
  }[];
}

export interface PackFileEntry {
  path: string;
  sha256: string;
  bytes: number;
}

/** Everything the PDF shows: built from the database, then rendered (the renderer holds no data logic). */
export interface ReportModel {
  period: Period;
  generatedAt: string;
  toolVersion: string;
  configSha256: string;
  seed: string;
  sampleSize: number;
  dataSha256: string;
  keyFingerprint: string | null;
  previousManifestSha256: string | null;
  batchChainHeads: Record<string, string>;
  rowCounts: Record<PopulationName, number>;
  sources: SourcesInfo;
  completeness: Completeness;
  controls: ControlResult[];
  summaries: Summaries;
  findings: FindingRow[];
  sample: SampleRow[];
  /** Every file of the pack but report.pdf and manifest.* (the hash appendix). */
  files: PackFileEntry[];
  queries: { name: string; description: string; file: string }[];
}
