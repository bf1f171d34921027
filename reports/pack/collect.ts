import type Database from 'better-sqlite3';
import { timeKeyToMillis } from '../../db/index.js';
import { recomputeChains, rawLineOfCopy } from './batches.js';
import type { Completeness, FindingRow, SampleRow, SourcesInfo, Summaries } from './model.js';
import type { Period } from './period.js';
import { bindingsFor, SUMMARY_QUERIES, type QueryParams, type SummaryName } from './queries.js';

/** Milliseconds per summary query (and the chain recomputation), filled in when given. */
export type Timings = Record<string, number>;

function summary<T>(sqlite: Database.Database, name: SummaryName, params: QueryParams, timings: Timings): T[] {
  const sql = SUMMARY_QUERIES[name].sql;
  return timed(timings, `summary:${name}`, () => sqlite.prepare(sql).all(bindingsFor(sql, params)) as T[]);
}

function ratio(n: number, d: number): number | null {
  return d ? Math.round((n / d) * 10_000) / 10_000 : null;
}

interface CopyScan {
  lines: { device: string; day: string; parsed: number; stored: number; duplicates: number }[];
  coverage: { device: string; first_time_key: string; last_time_key: string; lines: number }[];
  gaps: { device: string; gap_start: string; gap_end: string; minutes: number }[];
}

/**
 * One pass over the period's audit copies (in storage order: no sort of millions of rows) giving what the
 * lines-per-device-day, device-coverage and audit-gaps queries of queries.sql give. Gaps come from per-minute
 * buckets holding their first and last time: every silence longer than a minute lies between two consecutive
 * occupied buckets, so comparing the last line of one with the first of the next finds exactly the gaps the
 * SQL (LAG over time order) finds, for any threshold of a minute or more.
 */
function scanAuditCopies(sqlite: Database.Database, params: QueryParams): CopyScan {
  interface DeviceScan {
    days: Map<string, { parsed: number; stored: number; duplicates: number }>;
    first: string;
    last: string;
    lines: number;
    buckets: Map<number, [string, string]>;
  }
  const devices = new Map<string, DeviceScan>();
  const stmt = sqlite.prepare('SELECT device, time_key, duplicate FROM audit_copies WHERE time_key >= ? AND time_key <= ?').raw(true);
  for (const [device, key, duplicate] of stmt.iterate(params.from_key, params.to_key) as IterableIterator<[string, string, number]>) {
    let d = devices.get(device);
    if (!d) devices.set(device, (d = { days: new Map(), first: key, last: key, lines: 0, buckets: new Map() }));
    const day = key.slice(0, 10);
    let counts = d.days.get(day);
    if (!counts) d.days.set(day, (counts = { parsed: 0, stored: 0, duplicates: 0 }));
    counts.parsed++;
    if (duplicate) counts.duplicates++;
    else counts.stored++;
    d.lines++;
    if (key < d.first) d.first = key;
    if (key > d.last) d.last = key;
    const minute = Math.floor(timeKeyToMillis(key) / 60_000);
    const b = d.buckets.get(minute);
    if (!b) d.buckets.set(minute, [key, key]);
    else {
      if (key < b[0]) b[0] = key;
      if (key > b[1]) b[1] = key;
    }
  }
  const out: CopyScan = { lines: [], coverage: [], gaps: [] };
  const limitMs = params.gap_minutes * 60_000;
  for (const device of [...devices.keys()].sort()) {
    const d = devices.get(device)!;
    for (const day of [...d.days.keys()].sort()) out.lines.push({ device, day, ...d.days.get(day)! });
    out.coverage.push({ device, first_time_key: d.first, last_time_key: d.last, lines: d.lines });
    const minutes = [...d.buckets.keys()].sort((a, b) => a - b);
    for (let i = 1; i < minutes.length; i++) {
      const start = d.buckets.get(minutes[i - 1]!)![1];
      const end = d.buckets.get(minutes[i]!)![0];
      const gapMs = timeKeyToMillis(end) - timeKeyToMillis(start);
      if (gapMs > limitMs) out.gaps.push({ device, gap_start: start, gap_end: end, minutes: Math.floor(gapMs / 60_000) });
    }
  }
  return out;
}

/** The completeness and accuracy figures, from the summary queries and a recomputation of the hash chains. */
export function collectCompleteness(sqlite: Database.Database, period: Period, params: QueryParams, timings: Timings = {}): Completeness {
  const copies = timed(timings, 'scan:audit-copies', () => scanAuditCopies(sqlite, params));
  const lines = copies.lines;
  const quarantined = summary<{ device: string; day: string; reason: string; quarantined: number }>(sqlite, 'quarantined-per-device-day', params, timings);
  const perKey = new Map<string, Completeness['per_device_day'][number]>();
  const row = (device: string, day: string) => {
    const key = `${device}\u0000${day}`;
    let r = perKey.get(key);
    if (!r) perKey.set(key, (r = { device, day, lines_read: 0, stored: 0, duplicates: 0, quarantined: 0 }));
    return r;
  };
  for (const l of lines) {
    const r = row(l.device, l.day);
    r.stored += l.stored;
    r.duplicates += l.duplicates;
    r.lines_read += l.parsed;
  }
  const reasons: Record<string, number> = {};
  for (const q of quarantined) {
    const r = row(q.device, q.day);
    r.quarantined += q.quarantined;
    r.lines_read += q.quarantined;
    reasons[q.reason] = (reasons[q.reason] ?? 0) + q.quarantined;
  }
  const perDeviceDay = [...perKey.values()].sort((a, b) => (a.device === b.device ? a.day.localeCompare(b.day) : a.device.localeCompare(b.device)));
  const totals = perDeviceDay.reduce(
    (t, r) => ({ lines_read: t.lines_read + r.lines_read, stored: t.stored + r.stored, duplicates: t.duplicates + r.duplicates, quarantined: t.quarantined + r.quarantined }),
    { lines_read: 0, stored: 0, duplicates: 0, quarantined: 0 },
  );
  const pairingRows = summary<{ pairing: string; requests: number }>(sqlite, 'pairing', params, timings);
  const pairCount = (p: string) => pairingRows.find((r) => r.pairing === p)?.requests ?? 0;
  const total = pairingRows.reduce((n, r) => n + r.requests, 0);
  const claimed = summary<{ claimed_jobs: number; found_in_gitlab: number }>(sqlite, 'claimed-jobs', params, timings)[0] ?? { claimed_jobs: 0, found_in_gitlab: 0 };
  return {
    period: { from: period.from, to: period.to },
    per_device_day: perDeviceDay,
    totals,
    quarantine_reasons: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => a.localeCompare(b))),
    device_coverage: copies.coverage.map((d) => ({
      device: d.device,
      first: d.first_time_key,
      last: d.last_time_key,
      lines: d.lines,
    })),
    gap_threshold_minutes: params.gap_minutes,
    audit_gaps: copies.gaps,
    pairing: {
      paired: pairCount('paired'),
      request_only: pairCount('request-only'),
      response_only: pairCount('response-only'),
      total,
      rate: ratio(pairCount('paired'), total),
    },
    claimed_jobs: { claimed: claimed.claimed_jobs, found_in_gitlab: claimed.found_in_gitlab, share: ratio(claimed.found_in_gitlab, claimed.claimed_jobs) },
    hash_chains: timed(timings, 'hash-chains', () => recomputeChains(sqlite, period.fromKey, period.toKey)),
  };
}

function timed<T>(timings: Timings, stage: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  timings[stage] = Math.round(performance.now() - t0);
  return out;
}

/** Tokens and leases by project and end (the credential-lifetime query). */
export function collectLifetime(sqlite: Database.Database, params: QueryParams, timings: Timings = {}): Summaries['lifetime'] {
  return summary(sqlite, 'credential-lifetime', params, timings);
}

/** The population summaries straight from SQL (the pack accumulates the first three while streaming; tests compare). */
export function collectSummaries(sqlite: Database.Database, params: QueryParams, timings: Timings = {}): Summaries {
  return {
    perDay: summary(sqlite, 'accesses-per-day', params, timings),
    topPaths: summary(sqlite, 'top-paths', params, timings),
    perProject: summary(sqlite, 'per-project', params, timings),
    lifetime: summary(sqlite, 'credential-lifetime', params, timings),
  };
}

/** Where the data came from: devices, files, server log events and the GitLab side. */
export function collectSources(sqlite: Database.Database, period: Period, gitlabUrl: string | null, configSource: string | null): SourcesInfo {
  const devices = sqlite
    .prepare('SELECT name, log_raw, first_time_key AS first, last_time_key AS last FROM devices ORDER BY name')
    .all() as SourcesInfo['devices'];
  const auditFiles = sqlite
    .prepare('SELECT device, kind, path, lines, "offset" AS bytes, complete FROM audit_files ORDER BY kind, device, path, fingerprint')
    .all() as SourcesInfo['auditFiles'];
  const serverEvents = sqlite
    .prepare('SELECT count(*) AS n FROM server_events WHERE time_key >= ? AND time_key <= ?')
    .get(period.fromKey, period.toKey) as { n: number };
  const projects = sqlite.prepare('SELECT id, path_with_namespace AS path FROM gitlab_projects ORDER BY path_with_namespace, id').all() as {
    id: number;
    path: string;
  }[];
  const fromIso = `${period.from}T00:00:00`;
  const toIso = `${period.to}T23:59:59.999999999`;
  const pipelines = sqlite
    .prepare('SELECT count(*) AS n FROM gitlab_pipelines WHERE created_at >= ? AND created_at <= ?')
    .get(fromIso, toIso) as { n: number };
  const jobs = sqlite
    .prepare('SELECT count(*) AS n FROM gitlab_jobs WHERE coalesce(started_at, created_at) >= ? AND coalesce(started_at, created_at) <= ?')
    .get(fromIso, toIso) as { n: number };
  const stateUrl = sqlite.prepare("SELECT value FROM state WHERE key IN ('gitlab.url', 'gitlab_url') ORDER BY key LIMIT 1").get() as
    | { value: string }
    | undefined;
  return {
    devices,
    auditFiles,
    serverEventsInPeriod: serverEvents.n,
    gitlab: { url: gitlabUrl ?? stateUrl?.value ?? null, projects, pipelinesInPeriod: pipelines.n, jobsInPeriod: jobs.n },
    configSource,
  };
}

export function attachRawLines(sqlite: Database.Database, rows: Omit<SampleRow, 'raw'>[]): SampleRow[] {
  return rows.map((r) => ({ ...r, raw: r.audit_copy_id === null ? null : rawLineOfCopy(sqlite, r.audit_copy_id) }));
}

export type { FindingRow };
