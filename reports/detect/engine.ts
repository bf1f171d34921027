/**
 * Runs the rules and folds their evidence into `findings`: one finding per (rule, subject), no duplicates on
 * re-runs, re-opened by new evidence, escalated when its severity rises, muted per `detections.mute`.
 * Each new/re-opened/escalated finding records a `finding_events` row: that is what alerts deliver.
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { KeytrailDb } from '../../db/connection.js';
import type { Database } from '../../db/schema/index.js';
import { getState, setState } from '../../db/state.js';
import { CATALOGUE, RULE_IDS, SEVERITY_RANK, type RuleId, type Severity } from './catalogue.js';
import { RuleContext, type Evidence, type EvidenceGroup } from './context.js';
import { RULES } from './rules/index.js';
import { ruleEnabled, ruleSeverity, settingsHash, type DetectionSettings } from './settings.js';
import { muteMatcher } from './mute.js';
import type { FindingRecord } from './row.js';

/** Bump when rule logic changes, so the next run re-evaluates even if the data did not change. */
const RULES_VERSION = '1';
const FINGERPRINT_KEY = 'detect.fingerprint';
const LAST_RUN_KEY = 'detect.last_run';
const MAX_REQUEST_IDS = 100;

export interface DetectionOptions {
  /** Evaluation time (mute expiry, "will end" phrasing). Default: now. */
  now?: Date;
  /** Evaluate even when nothing changed since the last run. */
  force?: boolean;
  /** Evaluate only these rules (default: every enabled rule). */
  rules?: RuleId[];
  logger?: { debug(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export interface DetectionResult {
  /** False when nothing changed since the last run and the rules were not evaluated. */
  evaluated: boolean;
  rules: number;
  findings: number;
  new: number;
  reopened: number;
  escalated: number;
  updated: number;
  muted: number;
  unmuted: number;
  /** Ids of the finding_events recorded by this run. */
  event_ids: number[];
  duration_ms: number;
}

interface Candidate {
  rule: RuleId;
  subject: string;
  severity: Severity;
  title: string;
  detail: string;
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

function byTime(a: Evidence, b: Evidence): number {
  if (a.time_key !== b.time_key) return a.time_key < b.time_key ? -1 : 1;
  const ra = a.request_id ?? '';
  const rb = b.request_id ?? '';
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

export function groupEvidence(rule: RuleId, evidence: Evidence[]): EvidenceGroup[] {
  const bySubject = new Map<string, Evidence[]>();
  for (const e of evidence) {
    let list = bySubject.get(e.subject);
    if (!list) bySubject.set(e.subject, (list = []));
    list.push(e);
  }
  const groups: EvidenceGroup[] = [];
  for (const [subject, list] of bySubject) {
    list.sort(byTime);
    const ids = new Set<string>();
    let anonymous = 0;
    for (const e of list) {
      if (e.request_id) ids.add(e.request_id);
      else anonymous++;
    }
    groups.push({ rule, subject, items: list, first: list[0]!, last: list[list.length - 1]!, count: ids.size + anonymous });
  }
  return groups;
}

function firstOf<K extends keyof Evidence>(items: Evidence[], key: K): NonNullable<Evidence[K]> | null {
  for (const e of items) {
    const v = e[key];
    if (v !== null && v !== undefined) return v as NonNullable<Evidence[K]>;
  }
  return null;
}

function candidateOf(group: EvidenceGroup, ctx: RuleContext): Candidate {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const e of group.items) {
    if (!e.request_id || seen.has(e.request_id)) continue;
    seen.add(e.request_id);
    ids.push(e.request_id);
    if (ids.length === MAX_REQUEST_IDS) break;
  }
  return {
    rule: group.rule,
    subject: group.subject,
    severity: ruleSeverity(ctx.settings, group.rule),
    title: CATALOGUE[group.rule].title,
    detail: RULES[group.rule].describe(group, ctx),
    first_seen: group.first.time_key,
    last_seen: group.items.reduce((m, e) => (e.time_key > m ? e.time_key : m), group.first.time_key),
    count: group.count,
    request_ids: ids,
    job_id: firstOf(group.items, 'job_id'),
    project_id: firstOf(group.items, 'project_id'),
    user_login: firstOf(group.items, 'user_login'),
    path: firstOf(group.items, 'path'),
    lease_id: firstOf(group.items, 'lease_id'),
  };
}

/**
 * Cheap summary of every input the rules read; unchanged → nothing to evaluate. Row counts and maxima come
 * from indexes (no full scan of a million accesses); in-place updates (verification once GitLab data
 * arrives, token and lease ends) are caught through the other modules' progress marks in `state`.
 */
async function inputFingerprint(db: Kysely<Database>, settings: DetectionSettings): Promise<string> {
  const parts: unknown[] = [RULES_VERSION, settingsHash(settings)];
  parts.push(await db.selectFrom('accesses').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('time_key').as('last')]).executeTakeFirst());
  parts.push(await db.selectFrom('tokens').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('id').as('max')]).executeTakeFirst());
  parts.push(await db.selectFrom('leases').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('issued_time_key').as('last')]).executeTakeFirst());
  // GitLab: counts and maxima of primary keys (jobs rows carry their REST JSON: never scan them), plus the
  // sync cursors, which move whenever a pipeline (and so its jobs) changed.
  parts.push(await db.selectFrom('gitlab_jobs').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('id').as('max')]).executeTakeFirst());
  parts.push(await db.selectFrom('gitlab_pipelines').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('id').as('max')]).executeTakeFirst());
  parts.push(await db.selectFrom('gitlab_sync_cursors').select(['project_id', 'listing', 'updated_after']).orderBy('project_id').orderBy('listing').execute());
  parts.push(await db.selectFrom('gitlab_projects').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('synced_at').as('synced')]).executeTakeFirst());
  parts.push(await db.selectFrom('gitlab_job_lookups').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('checked_at').as('checked')]).executeTakeFirst());
  parts.push(await db.selectFrom('devices').select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('log_raw').as('raw')]).executeTakeFirst());
  parts.push(await db.selectFrom('server_events').select((eb) => [eb.fn.max('id').as('max')]).executeTakeFirst());
  // Progress marks of ingest, GitLab sync and correlate (values only: a re-run that changes nothing keeps them).
  parts.push(
    await db
      .selectFrom('state')
      .select(['key', 'value'])
      .where('key', 'not like', 'detect.%')
      .where('key', 'not like', 'alerts.%')
      .orderBy('key')
      .execute(),
  );
  // The batch chain is hashed whole (batches are few: thousands of lines each), so tampering with any
  // stored batch changes the fingerprint and the chain is checked again.
  const chain = createHash('sha256');
  for (const b of await db.selectFrom('ingest_batches').select(['id', 'device', 'stored_sha256', 'prev_chain_sha256', 'chain_sha256']).orderBy('id').execute()) {
    chain.update(`${b.id}|${b.device}|${b.stored_sha256}|${b.prev_chain_sha256 ?? ''}|${b.chain_sha256}\n`);
  }
  parts.push(chain.digest('hex'));
  return JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

async function addEvent(trx: Transaction<Database>, findingId: number, event: string, severity: string, at: string): Promise<number> {
  const row = await trx.insertInto('finding_events').values({ finding_id: findingId, event, severity, created_at: at }).returning('id').executeTakeFirstOrThrow();
  return Number(row.id);
}

/**
 * Evaluates the enabled rules (unless nothing changed since the last run), merges their findings and
 * re-applies the mutes. Safe to call again: the same data yields the same findings and no new events.
 */
export async function runDetections(handle: KeytrailDb, settings: DetectionSettings, options: DetectionOptions = {}): Promise<DetectionResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  const db = handle.db;
  const result: DetectionResult = { evaluated: false, rules: 0, findings: 0, new: 0, reopened: 0, escalated: 0, updated: 0, muted: 0, unmuted: 0, event_ids: [], duration_ms: 0 };

  const fingerprint = await inputFingerprint(db, settings);
  const selected = (options.rules ?? [...RULE_IDS]).filter((id) => ruleEnabled(settings, id));
  const unchanged = !options.force && !options.rules && (await getState(db, FINGERPRINT_KEY)) === fingerprint;

  const candidates: Candidate[] = [];
  if (!unchanged) {
    const ctx = new RuleContext(db, settings, now);
    for (const id of selected) {
      const t0 = performance.now();
      const evidence = await RULES[id].detect(ctx);
      const groups = groupEvidence(id, evidence);
      for (const g of groups) candidates.push(candidateOf(g, ctx));
      options.logger?.debug({ rule: id, evidence: evidence.length, findings: groups.length, ms: Math.round(performance.now() - t0) }, 'rule evaluated');
    }
    result.evaluated = true;
    result.rules = selected.length;
  }

  const at = now.toISOString();
  const muteOf = muteMatcher(settings.detections.mute ?? [], now);

  const mutes = settings.detections.mute ?? [];
  await db.transaction().execute(async (trx) => {
    const existing = new Map<string, FindingRecord>();
    // Nothing to merge: only the findings a mute could change are needed (all unresolved ones when mutes are
    // configured, else the muted ones, which an expired or removed mute re-opens).
    let load = trx.selectFrom('findings').selectAll();
    if (candidates.length === 0) load = mutes.length ? load.where('status', '!=', 'resolved') : load.where('status', '=', 'muted');
    for (const f of await load.execute()) existing.set(`${f.rule}\u0000${f.subject}`, f);

    for (const c of candidates) {
      const old = existing.get(`${c.rule}\u0000${c.subject}`);
      const fields = {
        title: c.title,
        job_id: c.job_id,
        project_id: c.project_id,
        user_login: c.user_login,
        path: c.path,
        lease_id: c.lease_id,
      };
      if (!old) {
        const inserted = await trx
          .insertInto('findings')
          .values({
            rule: c.rule,
            subject: c.subject,
            severity: c.severity,
            status: 'open',
            detail: c.detail,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            count: c.count,
            request_ids: JSON.stringify(c.request_ids),
            mute_reason: null,
            mute_owner: null,
            created_at: at,
            updated_at: at,
            ...fields,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        existing.set(`${c.rule}\u0000${c.subject}`, inserted);
        result.event_ids.push(await addEvent(trx, Number(inserted.id), 'new', c.severity, at));
        result.new++;
        continue;
      }
      // Evidence only grows: a pruned database keeps the counts and times already recorded.
      const grew = c.count > old.count || c.last_seen > old.last_seen;
      const complete = c.count >= old.count;
      const next = {
        detail: complete ? c.detail : old.detail,
        first_seen: c.first_seen < old.first_seen ? c.first_seen : old.first_seen,
        last_seen: c.last_seen > old.last_seen ? c.last_seen : old.last_seen,
        count: Math.max(c.count, old.count),
        request_ids: complete ? JSON.stringify(c.request_ids) : old.request_ids,
        severity: c.severity,
        status: old.status,
        ...(complete ? fields : { title: c.title }),
      };
      let event: string | null = null;
      if (old.status === 'resolved' && grew) {
        next.status = 'open';
        event = 'reopened';
      } else if (old.status !== 'resolved' && SEVERITY_RANK[c.severity] > (SEVERITY_RANK[old.severity as Severity] ?? 0)) {
        event = 'escalated';
      }
      const changed = (Object.keys(next) as (keyof typeof next)[]).some((k) => next[k] !== old[k as keyof FindingRecord]);
      if (!changed) continue;
      const updated = await trx
        .updateTable('findings')
        .set({ ...next, updated_at: at })
        .where('id', '=', old.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      existing.set(`${c.rule}\u0000${c.subject}`, updated);
      if (event) {
        result.event_ids.push(await addEvent(trx, Number(old.id), event, c.severity, at));
        if (event === 'reopened') result.reopened++;
        else result.escalated++;
      } else result.updated++;
    }

    // Mutes are re-applied on every run: new mutes take effect, expired ones stop applying.
    for (const f of existing.values()) {
      if (f.status === 'resolved') continue;
      const mute = muteOf(f);
      if (mute && (f.status !== 'muted' || f.mute_reason !== mute.reason || f.mute_owner !== mute.owner)) {
        await trx.updateTable('findings').set({ status: 'muted', mute_reason: mute.reason, mute_owner: mute.owner, updated_at: at }).where('id', '=', f.id).execute();
        if (f.status !== 'muted') result.muted++;
      } else if (!mute && f.status === 'muted') {
        await trx.updateTable('findings').set({ status: 'open', mute_reason: null, mute_owner: null, updated_at: at }).where('id', '=', f.id).execute();
        // The finding was never alerted while muted: surfacing it now is a re-open.
        result.event_ids.push(await addEvent(trx, Number(f.id), 'reopened', f.severity, at));
        result.unmuted++;
        result.reopened++;
      }
    }
    result.findings = candidates.length ? existing.size : Number((await trx.selectFrom('findings').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
  });

  if (result.evaluated && !options.rules) await setState(db, FINGERPRINT_KEY, fingerprint);
  await setState(db, LAST_RUN_KEY, at);
  result.duration_ms = Math.round(performance.now() - started);
  return result;
}
