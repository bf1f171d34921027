/** Reading findings back (`keytrail query findings`) and triage (`keytrail findings resolve|reopen`). */
import picomatch from 'picomatch';
import type { KeytrailDb } from '../../db/connection.js';
import { KeytrailError, UsageError } from '../../db/errors.js';
import { dayRange } from '../../db/time.js';
import { isRuleId, isSeverity } from './catalogue.js';
import { findingRow, type FindingRecord, type FindingRow } from './row.js';
import { muteMatcher } from './mute.js';
import type { MuteSetting } from './settings.js';

export interface FindingFilters {
  rule?: string;
  severity?: string;
  status?: string;
  /** GitLab project id, or its path (resolved through the GitLab sync). */
  project?: string;
  job?: number;
  user?: string;
  /** Vault path glob: `*` does not cross `/`, `**` does. */
  path?: string;
  /** UTC days (`--to` inclusive): findings whose evidence overlaps the period. */
  from?: string;
  to?: string;
  limit?: number;
}

/** A finding row plus the mute it is under (for the table format; not part of the JSON row). */
export type ListedFinding = FindingRow & { mute_reason: string | null; mute_owner: string | null };

export async function queryFindings(handle: KeytrailDb, filters: FindingFilters = {}): Promise<ListedFinding[]> {
  const db = handle.db;
  if (filters.rule && !isRuleId(filters.rule)) throw new UsageError(`--rule: unknown rule "${filters.rule}"`);
  if (filters.severity && !isSeverity(filters.severity)) throw new UsageError('--severity must be low, medium, high or critical');
  if (filters.status && !['open', 'muted', 'resolved'].includes(filters.status)) throw new UsageError('--status must be open, muted or resolved');
  let q = db.selectFrom('findings').selectAll();
  if (filters.rule) q = q.where('rule', '=', filters.rule);
  if (filters.severity) q = q.where('severity', '=', filters.severity);
  if (filters.status) q = q.where('status', '=', filters.status);
  if (filters.job !== undefined) q = q.where('job_id', '=', filters.job);
  if (filters.user) q = q.where('user_login', '=', filters.user);
  if (filters.project) {
    let id: number | undefined = /^\d+$/.test(filters.project) ? Number(filters.project) : undefined;
    if (id === undefined) {
      const p = await db.selectFrom('gitlab_projects').select('id').where('path_with_namespace', '=', filters.project).executeTakeFirst();
      const ref = p ? undefined : await db.selectFrom('gitlab_project_refs').select('project_id').where('ref', '=', filters.project).executeTakeFirst();
      id = p?.id ?? ref?.project_id ?? -1;
    }
    q = q.where('project_id', '=', id);
  }
  const range = dayRange(filters.from, filters.to);
  if (range.from) q = q.where('last_seen', '>=', range.from);
  if (range.to) q = q.where('first_seen', '<=', range.to);
  q = q.orderBy('first_seen').orderBy('id');
  const pathTest = filters.path ? picomatch(filters.path, { dot: true }) : null;
  // The path glob is applied here, so the limit counts matching rows.
  if (!pathTest && filters.limit !== undefined) q = q.limit(filters.limit);
  const rows: ListedFinding[] = [];
  for (const f of await q.execute()) {
    if (pathTest && !(f.path && pathTest(f.path))) continue;
    rows.push({ ...findingRow(f), mute_reason: f.mute_reason, mute_owner: f.mute_owner });
    if (filters.limit !== undefined && rows.length >= filters.limit) break;
  }
  return rows;
}

export interface TriageOptions {
  note: string;
  actor: string;
  now?: Date;
  /** Mutes to re-apply when a finding is re-opened (a re-opened finding that matches a mute stays muted). */
  mutes?: MuteSetting[];
}

async function findingById(handle: KeytrailDb, id: number): Promise<FindingRecord> {
  const f = await handle.db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
  if (!f) throw new KeytrailError(`no finding with id ${id}`);
  return f;
}

/** Marks a finding resolved and records who, when and why. New evidence will re-open it. */
export async function resolveFinding(handle: KeytrailDb, id: number, opts: TriageOptions): Promise<FindingRow> {
  if (!opts.note.trim()) throw new UsageError('--note must not be empty');
  const at = (opts.now ?? new Date()).toISOString();
  await findingById(handle, id);
  await handle.db.transaction().execute(async (trx) => {
    await trx.updateTable('findings').set({ status: 'resolved', updated_at: at }).where('id', '=', id).execute();
    await trx.insertInto('finding_triage').values({ finding_id: id, action: 'resolve', note: opts.note, actor: opts.actor, at }).execute();
  });
  return findingRow(await findingById(handle, id));
}

/** Re-opens a finding by hand (muted again at once when a mute matches it), recording who, when and why. */
export async function reopenFinding(handle: KeytrailDb, id: number, opts: TriageOptions): Promise<FindingRow> {
  if (!opts.note.trim()) throw new UsageError('--note must not be empty');
  const now = opts.now ?? new Date();
  const at = now.toISOString();
  const f = await findingById(handle, id);
  const mute = muteMatcher(opts.mutes ?? [], now)(f);
  await handle.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('findings')
      .set({ status: mute ? 'muted' : 'open', mute_reason: mute?.reason ?? null, mute_owner: mute?.owner ?? null, updated_at: at })
      .where('id', '=', id)
      .execute();
    await trx.insertInto('finding_triage').values({ finding_id: id, action: 'reopen', note: opts.note, actor: opts.actor, at }).execute();
  });
  return findingRow(await findingById(handle, id));
}

export interface TriageRecord {
  action: string;
  note: string;
  actor: string;
  at: string;
}

export async function findingTriage(handle: KeytrailDb, id: number): Promise<TriageRecord[]> {
  return handle.db.selectFrom('finding_triage').select(['action', 'note', 'actor', 'at']).where('finding_id', '=', id).orderBy('id').execute();
}
