import type { Generated } from 'kysely';

/** Tables written by reports/ detections and alerting (see CONTRACT.md "Findings"). */
export interface FindingsTable {
  id: Generated<number>;
  rule: string;
  subject: string;
  severity: string; // 'low' | 'medium' | 'high' | 'critical'
  status: string; // 'open' | 'muted' | 'resolved'
  title: string;
  detail: string;
  first_seen: string;
  last_seen: string;
  count: number;
  request_ids: string; // JSON array, first 100
  job_id: number | null;
  project_id: number | null;
  user_login: string | null;
  path: string | null;
  lease_id: string | null;
  mute_reason: string | null;
  mute_owner: string | null;
  created_at: string;
  updated_at: string;
}

/** What happened to a finding that is worth delivering: 'new' | 'reopened' | 'escalated'. */
export interface FindingEventsTable {
  id: Generated<number>;
  finding_id: number;
  event: string;
  severity: string;
  created_at: string;
}

export interface FindingTriageTable {
  id: Generated<number>;
  finding_id: number;
  action: string; // 'resolve' | 'reopen'
  note: string;
  actor: string;
  at: string;
}

/** Delivery of one event to one channel ('stdout', 'webhook:<url hash>'); pending until delivered. */
export interface AlertDeliveriesTable {
  id: Generated<number>;
  event_id: number;
  channel: string;
  status: string; // 'pending' | 'delivered' | 'failed'
  attempts: number;
  last_error: string | null;
  delivered_at: string | null;
}

/** Evidence packs written (period, where, and the manifest's hash for the chain). */
export interface PacksTable {
  id: Generated<number>;
  period_from: string;
  period_to: string;
  out_dir: string;
  manifest_sha256: string;
  data_sha256: string;
  generated_at: string;
  created_at: string;
}

export interface FindingsTables {
  findings: FindingsTable;
  finding_events: FindingEventsTable;
  finding_triage: FindingTriageTable;
  alert_deliveries: AlertDeliveriesTable;
  packs: PacksTable;
}
