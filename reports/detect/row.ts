/** The finding row of CONTRACT.md ("Findings"), built from a `findings` table row. */
import type { Selectable } from 'kysely';
import type { FindingsTable } from '../../db/schema/index.js';
import { timeKeyToIso } from '../../db/time.js';

export type FindingRecord = Selectable<FindingsTable>;

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
  request_ids: string[];
  job_id: number | null;
  project_id: number | null;
  user_login: string | null;
  path: string | null;
  lease_id: string | null;
}

export const FINDING_FIELDS = [
  'id',
  'rule',
  'severity',
  'status',
  'title',
  'detail',
  'subject',
  'first_seen',
  'last_seen',
  'count',
  'request_ids',
  'job_id',
  'project_id',
  'user_login',
  'path',
  'lease_id',
] as const;

function asIso(value: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/.test(value) ? timeKeyToIso(value) : value;
}

function asNumber(v: number | string | bigint | null): number | null {
  return v === null ? null : Number(v);
}

export function findingRow(f: FindingRecord): FindingRow {
  let ids: string[] = [];
  try {
    ids = JSON.parse(f.request_ids) as string[];
  } catch {
    ids = [];
  }
  return {
    id: Number(f.id),
    rule: f.rule,
    severity: f.severity,
    status: f.status,
    title: f.title,
    detail: f.detail,
    subject: f.subject,
    first_seen: asIso(f.first_seen),
    last_seen: asIso(f.last_seen),
    count: Number(f.count),
    request_ids: ids,
    job_id: asNumber(f.job_id),
    project_id: asNumber(f.project_id),
    user_login: f.user_login,
    path: f.path,
    lease_id: f.lease_id,
  };
}
