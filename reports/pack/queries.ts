import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Period } from './period.js';

/**
 * Every SQL statement behind the pack. The same text runs here (with bound parameters) and is written to
 * queries.sql (with the parameters replaced by literals), so what the auditor re-runs is what produced the
 * files. Parameters: :from_key :to_key (inclusive time keys), :from_day :to_day, :seed, :sample_size,
 * :gap_minutes.
 */
export interface PackQuery {
  name: string;
  /** What the rows are, and what is in and out (inclusion/exclusion criteria). */
  description: string;
  sql: string;
}

/** Secret accesses: requests whose path is neither under sys/ nor under auth/. */
const SECRET_ACCESS_FILTER = `time_key >= :from_key AND time_key <= :to_key
  AND path IS NOT NULL AND substr(path, 1, 4) <> 'sys/' AND substr(path, 1, 5) <> 'auth/'`;

const PROJECT_PATH = (alias: string) =>
  `(SELECT p.path_with_namespace FROM gitlab_projects p WHERE p.id = ${alias}.project_id) AS project_path`;

const TOKEN_FILTER = `(t.issued_time_key >= :from_key AND t.issued_time_key <= :to_key)
   OR (t.issued_time_key IS NULL AND t.last_used_time_key >= :from_key AND t.last_used_time_key <= :to_key)`;

const CONFIG_CHANGE_FILTER = `time_key >= :from_key AND time_key <= :to_key
  AND operation IN ('create', 'update', 'delete')
  AND (path GLOB 'sys/audit/*' OR path GLOB 'sys/config/auditing/*' OR path GLOB 'sys/policy/*'
    OR path GLOB 'sys/policies/*' OR path GLOB 'sys/auth/*' OR path GLOB 'sys/mounts/*' OR path = 'sys/remount'
    OR path GLOB 'sys/generate-root*' OR path GLOB 'sys/rekey*' OR path GLOB 'auth/*/role/*'
    OR path GLOB 'auth/*/config' OR path GLOB 'auth/token/roles/*')`;

/** The sample drawn in SQL: the secret accesses with the smallest selection hashes. */
const SAMPLE_RANKED_BY_SHA3 = `
  SELECT a.*, lower(hex(sha3(:seed || ':' || a.request_id, 256))) AS selection_hash
  FROM accesses a
  WHERE ${SECRET_ACCESS_FILTER.replace(/\b(time_key|path)\b/g, 'a.$1')}
  ORDER BY selection_hash
  LIMIT :sample_size
`;

/** The drill-down of the sampled accesses (`ranked`: the sampled access rows with their selection_hash). */
const SAMPLE_SELECT = `SELECT row_number() OVER (ORDER BY r.selection_hash) AS sample_no, r.selection_hash, r.request_id, r.time,
  r.devices, r.operation, r.path, r.outcome, r.remote_address, r.display_name, r.entity_id, r.auth_mount, r.role,
  r.token_accessor, r.attribution, r.verified, t.id AS token_id, t.issued_at AS token_issued_at,
  t.metadata AS token_claims, t.ends_at AS token_ends_at, t.outlived_job AS token_outlived_job, r.lease_id,
  l.issued_at AS lease_issued_at, l.ended_at AS lease_ended_at, l.end_kind AS lease_end_kind,
  l.outlived_job AS lease_outlived_job, r.job_id, j.name AS job_name, j.project_id AS job_project_id,
  (SELECT p.path_with_namespace FROM gitlab_projects p WHERE p.id = j.project_id) AS job_project_path,
  j.pipeline_id AS job_pipeline_id, j.ref AS job_ref, j.user_login AS job_user_login, j.status AS job_status,
  j.started_at AS job_started_at, j.finished_at AS job_finished_at, j.web_url AS job_web_url,
  r.request_entry_id,
  r.request_entry_id AS audit_copy_id -- an entry's id is also the id of its first stored copy in audit_copies
FROM ranked r
LEFT JOIN tokens t ON t.id = r.token_id
LEFT JOIN leases l ON l.lease_id = r.lease_id
LEFT JOIN gitlab_jobs j ON j.id = r.job_id
ORDER BY sample_no;`;

/**
 * The same drill-down for a sample already drawn (while the secret-access population was streamed, with the
 * same SHA3-256 selection hash): the rows are fetched by request id instead of hashing the population in SQL
 * again. queries.sql keeps the SQL-only form, and re-running it gives the same rows.
 */
export function sampleByRequestIds(count: number): string {
  const values = Array.from({ length: Math.max(count, 1) }, () => '(?, ?)').join(', ');
  return `WITH picked(request_id, selection_hash) AS (VALUES ${values}),
ranked AS (SELECT a.*, p.selection_hash FROM picked p JOIN accesses a ON a.request_id = p.request_id)
${SAMPLE_SELECT}`;
}

/** The selection hash of the sample (SQL: lower(hex(sha3(seed || ':' || request_id, 256)))). */
export function selectionHash(seed: string, requestId: string): string {
  return createHash('sha3-256').update(`${seed}:${requestId}`, 'utf8').digest('hex');
}

export const POPULATION_NAMES = ['secret-accesses', 'tokens', 'leases', 'config-changes', 'findings', 'sample'] as const;
export type PopulationName = (typeof POPULATION_NAMES)[number];

export const POPULATION_QUERIES: Record<PopulationName, PackQuery> = {
  'secret-accesses': {
    name: 'secret-accesses',
    description:
      'Every Vault request in the period whose path is neither under sys/ nor under auth/, one row per request ' +
      '(deduplicated across audit devices), with the GitLab job it is attributed to.',
    sql: `SELECT request_id, time, devices, operation, path, namespace, mount_type, outcome, remote_address,
  display_name, entity_id, auth_mount, role, token_accessor, lease_id, job_id, pipeline_id, project_id,
  project_path, user_login, ref, attribution, verified
FROM accesses
WHERE ${SECRET_ACCESS_FILTER}
ORDER BY time_key, request_id;`,
  },
  tokens: {
    name: 'tokens',
    description:
      'Tokens issued in the period (or, when their issue was not seen, last used in it), with the job that ' +
      'obtained them and whether they outlived it.',
    sql: `SELECT t.id AS token_id, t.issue_request_id, t.issued_at, t.accessor, t.token_type, t.auth_mount, t.role,
  t.display_name, t.entity_id, t.policies, t.ttl_seconds, t.orphan, t.job_id, t.pipeline_id, t.project_id,
  ${PROJECT_PATH('t')}, t.user_login, t.ref, t.attribution, t.verified, t.request_count, t.revoked_at,
  t.revoke_kind, t.ends_at, t.end_inferred, t.job_finished_at, t.outlived_job
FROM tokens t
WHERE ${TOKEN_FILTER}
ORDER BY coalesce(t.issued_time_key, t.last_used_time_key), t.id;`,
  },
  leases: {
    name: 'leases',
    description: 'Leases (dynamic secrets) issued in the period, how they ended and whether they outlived their job.',
    sql: `SELECT l.lease_id, l.issued_at, l.issue_request_id, l.token_id, l.mount_type, l.job_id, l.pipeline_id,
  l.project_id, ${PROJECT_PATH('l')}, l.user_login, l.renew_count, l.last_renewed_at, l.ttl_seconds, l.ended_at,
  l.end_kind, l.end_inferred, l.job_finished_at, l.outlived_job
FROM leases l
WHERE l.issued_time_key >= :from_key AND l.issued_time_key <= :to_key
ORDER BY l.issued_time_key, l.lease_id;`,
  },
  'config-changes': {
    name: 'config-changes',
    description:
      'Writes and deletes in the period to audit devices, policies, auth methods, mounts, root generation, ' +
      'rekeying, auth roles and auth method configuration (any outcome, denied attempts included).',
    sql: `SELECT request_id, time, operation, path, outcome, remote_address, display_name, entity_id, auth_mount, role,
  job_id, pipeline_id, project_id, project_path, user_login, ref, attribution, verified
FROM accesses
WHERE ${CONFIG_CHANGE_FILTER}
ORDER BY time_key, request_id;`,
  },
  findings: {
    name: 'findings',
    description:
      'Findings whose evidence falls in the period (first seen on or before its last day and last seen on or ' +
      'after its first day), every status included, with the latest triage action.',
    sql: `SELECT f.id, f.rule, f.severity, f.status, f.title, f.detail, f.subject, f.first_seen, f.last_seen, f.count,
  f.job_id, f.project_id, f.user_login, f.path, f.lease_id, f.mute_reason, f.mute_owner,
  (SELECT tr.action FROM finding_triage tr WHERE tr.finding_id = f.id ORDER BY tr.at DESC, tr.id DESC LIMIT 1) AS triage_action,
  (SELECT tr.note FROM finding_triage tr WHERE tr.finding_id = f.id ORDER BY tr.at DESC, tr.id DESC LIMIT 1) AS triage_note,
  (SELECT tr.actor FROM finding_triage tr WHERE tr.finding_id = f.id ORDER BY tr.at DESC, tr.id DESC LIMIT 1) AS triage_actor,
  (SELECT tr.at FROM finding_triage tr WHERE tr.finding_id = f.id ORDER BY tr.at DESC, tr.id DESC LIMIT 1) AS triage_at
FROM findings f
WHERE substr(f.first_seen, 1, 10) <= :to_day AND substr(f.last_seen, 1, 10) >= :from_day
ORDER BY f.id;`,
  },
  sample: {
    name: 'sample',
    description:
      'The sample: the :sample_size secret accesses with the smallest SHA3-256 of (seed || ":" || request_id), ' +
      'with their token login claims, lease and GitLab job. The pack adds one column computed outside SQL, ' +
      'raw_line_sha256: the SHA-256 of the raw audit line (the bytes at line_offset/line_length of the first ' +
      "stored copy's batch, ingest_batches.raw_bytes decompressed).",
    sql: `WITH ranked AS (${SAMPLE_RANKED_BY_SHA3})
${SAMPLE_SELECT}`,
  },
};

/** Figures of the PDF and completeness.json that come straight from SQL (re-performable too). */
export const SUMMARY_QUERY_NAMES = [
  'accesses-per-day',
  'top-paths',
  'per-project',
  'credential-lifetime',
  'lines-per-device-day',
  'quarantined-per-device-day',
  'audit-gaps',
  'device-coverage',
  'pairing',
  'claimed-jobs',
] as const;
export type SummaryName = (typeof SUMMARY_QUERY_NAMES)[number];

export const SUMMARY_QUERIES: Record<SummaryName, PackQuery> = {
  'accesses-per-day': {
    name: 'accesses-per-day',
    description: 'Secret accesses per UTC day, attribution kind and outcome.',
    sql: `SELECT substr(time_key, 1, 10) AS day, attribution, outcome, count(*) AS accesses
FROM accesses
WHERE ${SECRET_ACCESS_FILTER}
GROUP BY day, attribution, outcome
ORDER BY day, attribution, outcome;`,
  },
  'top-paths': {
    name: 'top-paths',
    description: 'The 15 most accessed secret paths.',
    sql: `SELECT path, count(*) AS accesses, count(DISTINCT job_id) AS jobs, count(DISTINCT project_id) AS projects
FROM accesses
WHERE ${SECRET_ACCESS_FILTER}
GROUP BY path
ORDER BY accesses DESC, path
LIMIT 15;`,
  },
  'per-project': {
    name: 'per-project',
    description: 'Secret accesses per GitLab project (no project: attributed to no job).',
    sql: `SELECT coalesce(project_path, 'project ' || project_id || ' (not in GitLab)', '(no project)') AS project, count(*) AS accesses,
  count(DISTINCT job_id) AS jobs, coalesce(sum(verified = 'yes'), 0) AS verified_yes, coalesce(sum(verified = 'no'), 0) AS verified_no
FROM accesses
WHERE ${SECRET_ACCESS_FILTER}
GROUP BY project
ORDER BY accesses DESC, project;`,
  },
  'credential-lifetime': {
    name: 'credential-lifetime',
    description:
      'Tokens and leases of the period by project: ended with their job (outlived_job = 0), outlived it ' +
      '(1), unknown (job known, end or finish unknown), or obtained by no job.',
    sql: `SELECT kind, project, count(*) AS total, coalesce(sum(outlived_job = 0), 0) AS ended_with_job, coalesce(sum(outlived_job = 1), 0) AS outlived,
  coalesce(sum(outlived_job IS NULL AND job_id IS NOT NULL), 0) AS unknown, coalesce(sum(job_id IS NULL), 0) AS no_job
FROM (
  SELECT 'token' AS kind, coalesce((SELECT p.path_with_namespace FROM gitlab_projects p WHERE p.id = t.project_id),
    'project ' || t.project_id || ' (not in GitLab)', '(no project)') AS project, t.outlived_job, t.job_id
  FROM tokens t WHERE ${TOKEN_FILTER}
  UNION ALL
  SELECT 'lease', coalesce((SELECT p.path_with_namespace FROM gitlab_projects p WHERE p.id = l.project_id),
    'project ' || l.project_id || ' (not in GitLab)', '(no project)'), l.outlived_job, l.job_id
  FROM leases l WHERE l.issued_time_key >= :from_key AND l.issued_time_key <= :to_key
)
GROUP BY kind, project
ORDER BY kind DESC, total DESC, project;`,
  },
  'lines-per-device-day': {
    name: 'lines-per-device-day',
    description:
      'Audit lines parsed per device and UTC day: stored (first copy of a request/response) and duplicates ' +
      '(the same entry again, from another device or node).',
    sql: `SELECT device, substr(time_key, 1, 10) AS day, count(*) AS parsed, coalesce(sum(duplicate = 0), 0) AS stored,
  coalesce(sum(duplicate = 1), 0) AS duplicates
FROM audit_copies
WHERE time_key >= :from_key AND time_key <= :to_key
GROUP BY device, day
ORDER BY device, day;`,
  },
  'quarantined-per-device-day': {
    name: 'quarantined-per-device-day',
    description:
      'Quarantined lines per device and UTC day (a quarantined line has no time of its own: the day is that of ' +
      'the first entry of its batch, or when it was quarantined).',
    sql: `SELECT q.device, substr(coalesce(b.first_time_key, q.created_at), 1, 10) AS day, q.reason, count(*) AS quarantined
FROM quarantine q LEFT JOIN ingest_batches b ON b.id = q.batch_id
WHERE substr(coalesce(b.first_time_key, q.created_at), 1, 10) >= :from_day
  AND substr(coalesce(b.first_time_key, q.created_at), 1, 10) <= :to_day
GROUP BY q.device, day, q.reason
ORDER BY q.device, day, q.reason;`,
  },
  'audit-gaps': {
    name: 'audit-gaps',
    description:
      'Silences longer than :gap_minutes minutes between consecutive audit lines of one device (millisecond ' +
      'precision; minutes rounded down).',
    sql: `SELECT device, gap_start, gap_end, gap_ms / 60000 AS minutes
FROM (
  SELECT device, gap_start, gap_end,
    CAST(round((julianday(substr(gap_end, 1, 23) || 'Z') - julianday(substr(gap_start, 1, 23) || 'Z')) * 86400000) AS INTEGER) AS gap_ms
  FROM (
    SELECT device, LAG(time_key) OVER (PARTITION BY device ORDER BY time_key) AS gap_start, time_key AS gap_end
    FROM audit_copies
    WHERE time_key >= :from_key AND time_key <= :to_key
  )
  WHERE gap_start IS NOT NULL
)
WHERE gap_ms > :gap_minutes * 60000
ORDER BY device, gap_start;`,
  },
  'device-coverage': {
    name: 'device-coverage',
    description: 'First and last audit line of each device in the period.',
    sql: `SELECT device, min(time_key) AS first_time_key, max(time_key) AS last_time_key, count(*) AS lines
FROM audit_copies
WHERE time_key >= :from_key AND time_key <= :to_key
GROUP BY device
ORDER BY device;`,
  },
  pairing: {
    name: 'pairing',
    description: 'Requests of the period (all paths) by request/response pairing.',
    sql: `SELECT pairing, count(*) AS requests
FROM accesses
WHERE time_key >= :from_key AND time_key <= :to_key
GROUP BY pairing
ORDER BY pairing;`,
  },
  'claimed-jobs': {
    name: 'claimed-jobs',
    description: 'Distinct GitLab jobs named by claims or correlation ids in the period, and how many GitLab knows.',
    sql: `SELECT count(DISTINCT a.job_id) AS claimed_jobs, count(DISTINCT j.id) AS found_in_gitlab
FROM accesses a LEFT JOIN gitlab_jobs j ON j.id = a.job_id
WHERE a.time_key >= :from_key AND a.time_key <= :to_key
  AND a.attribution IN ('claims', 'correlation-id') AND a.job_id IS NOT NULL;`,
  },
};

export interface QueryParams {
  from_key: string;
  to_key: string;
  from_day: string;
  to_day: string;
  seed: string;
  sample_size: number;
  gap_minutes: number;
}

export function queryParams(period: Period, seed: string, sampleSize: number, gapMinutes: number): QueryParams {
  return {
    from_key: period.fromKey,
    to_key: period.toKey,
    from_day: period.from,
    to_day: period.to,
    seed,
    sample_size: sampleSize,
    gap_minutes: gapMinutes,
  };
}

/** Named parameters a statement uses (better-sqlite3 rejects unused named bindings). */
export function bindingsFor(sql: string, params: QueryParams): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const m of sql.matchAll(/:([a-z_]+)/g)) {
    const key = m[1] as keyof QueryParams;
    if (key in params) out[key] = params[key];
  }
  return out;
}

function sqlLiteral(value: string | number): string {
  return typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''")}'`;
}

/** The statement with its parameters replaced by literals, as written to queries.sql. */
export function withLiterals(sql: string, params: QueryParams): string {
  return sql.replace(/:([a-z_]+)/g, (whole, key: string) =>
    key in params ? sqlLiteral(params[key as keyof QueryParams]) : whole,
  );
}

/**
 * SQL functions the pack's statements use that better-sqlite3 lacks but the sqlite3 shell has: `sha3(X, 256)`
 * (the shell's SHA3-256, so the sample is re-performable with `sqlite3 keytrail.db < queries.sql`).
 */
export function registerPackFunctions(sqlite: Database.Database): void {
  sqlite.function('sha3', { deterministic: true, varargs: true }, (...args: unknown[]) => {
    const value = args[0];
    const bits = args.length > 1 ? Number(args[1]) : 256;
    if (value === null || value === undefined) return null;
    const data = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    return createHash(`sha3-${bits}`).update(data).digest();
  });
}

/**
 * queries.sql: sqlite3-shell script that re-performs every population and summary. Run it in an empty
 * directory (`sqlite3 keytrail.db < queries.sql`): each statement writes `<name>.csv` there, byte-identical to
 * the pack's populations/<name>.csv (sample.csv less its raw_line_sha256 column) and to the figures of the
 * report and completeness.json.
 */
export function renderQueriesSql(params: QueryParams, header: string[]): string {
  const lines: string[] = [
    ...header.map((h) => `-- ${h}`),
    '--',
    '-- Run in an empty directory: sqlite3 /path/to/keytrail.db < queries.sql',
    '-- Each statement writes <name>.csv (CSV with a header row, CRLF line ends, as the pack writes them).',
    `-- Period: ${params.from_day} 00:00:00 UTC to ${params.to_day} 23:59:59.999999999 UTC (inclusive).`,
    `-- Sample seed: ${params.seed}; sample size: ${params.sample_size}; audit gap threshold: ${params.gap_minutes} minutes.`,
    '',
    '.headers on',
    '.mode csv',
    '',
  ];
  const section = (title: string, queries: PackQuery[], dir: string) => {
    lines.push(`-- ===== ${title} =====`, '');
    for (const q of queries) {
      lines.push(`-- ${dir}${q.name}.csv: ${withLiterals(q.description, params)}`);
      lines.push(`.once ${q.name}.csv`);
      lines.push(withLiterals(q.sql, params), '');
    }
  };
  section('Populations (populations/*.csv)', POPULATION_NAMES.map((n) => POPULATION_QUERIES[n]), 'populations/');
  section('Summaries (report.pdf and completeness.json)', SUMMARY_QUERY_NAMES.map((n) => SUMMARY_QUERIES[n]), '');
  return lines.join('\n');
}
