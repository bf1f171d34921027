/**
 * `keytrail explain <request_id>`: the whole chain of one request — the raw audit line(s) from each device,
 * the access row, the token (its login and claims, its end), the lease(s) and their end, the GitLab job and
 * pipeline, the attribution evidence and the verification result.
 */
import type { KeytrailDb } from '../db/connection.js';
import { decompressBatchBytes } from '../db/batch-bytes.js';
import { requestKeys } from '../db/request-key.js';
import { parseJson } from './claims.js';
import { ACCESS_FIELDS, toAccessRecord, type AccessRecord } from './query.js';

export interface RawLine {
  type: string;
  device: string;
  time: string;
  /** 1 when this device's copy arrived after another device's (deduplicated at ingest). */
  duplicate: boolean;
  batch_id: number;
  /** The stored line, or null when its batch was pruned. */
  line: string | null;
}

export interface Explanation {
  request_id: string;
  access: AccessRecord | null;
  pairing: string | null;
  raw: RawLine[];
  attribution: { kind: string; evidence: unknown };
  verification: { verified: string | null; contradictions: unknown[] };
  token: Record<string, unknown> | null;
  login: { request_id: string; time: string | null; remote_address: string | null; claims: Record<string, unknown> | null } | null;
  leases: Record<string, unknown>[];
  job: Record<string, unknown> | null;
  pipeline: Record<string, unknown> | null;
}

/** Recovers stored lines from their batches (one decompression per batch). */
class RawReader {
  private readonly batches = new Map<number, Buffer | null>();
  constructor(private readonly handle: KeytrailDb) {}

  async line(batchId: number, offset: number, length: number): Promise<string | null> {
    let bytes = this.batches.get(batchId);
    if (bytes === undefined) {
      const row = await this.handle.db.selectFrom('ingest_batches').select(['raw_bytes', 'raw_codec']).where('id', '=', batchId).executeTakeFirst();
      bytes = row?.raw_bytes ? decompressBatchBytes(row.raw_bytes, row.raw_codec) : null;
      this.batches.set(batchId, bytes);
    }
    return bytes ? bytes.subarray(offset, offset + length).toString('utf8') : null;
  }
}

function pick<T extends object>(row: T | undefined | null, keys: (keyof T)[]): Record<string, unknown> | null {
  if (!row) return null;
  return Object.fromEntries(keys.map((k) => [k, row[k] ?? null]));
}

/** Everything known about one request, or null when the database has no such request id. */
export async function explainRequest(handle: KeytrailDb, requestId: string): Promise<Explanation | null> {
  const db = handle.db;
  const entries = await db
    .selectFrom('audit_entries')
    .select(['id', 'type'])
    .where('request_key', 'in', requestKeys(requestId))
    .where('request_id', '=', requestId)
    .execute();
  const accessRow = await db.selectFrom('accesses').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  if (entries.length === 0 && !accessRow) return null;

  const reader = new RawReader(handle);
  const raw: RawLine[] = [];
  const typeOf = new Map(entries.map((e) => [e.id, e.type]));
  if (entries.length) {
    const copies = await db
      .selectFrom('audit_copies')
      .select(['entry_id', 'device', 'time', 'time_key', 'duplicate', 'batch_id', 'line_offset', 'line_length'])
      .where('entry_id', 'in', entries.map((e) => e.id))
      .orderBy('time_key')
      .orderBy('device')
      .execute();
    for (const c of copies) {
      raw.push({
        type: typeOf.get(c.entry_id) ?? '?',
        device: c.device,
        time: c.time,
        duplicate: c.duplicate === 1,
        batch_id: c.batch_id,
        line: await reader.line(c.batch_id, Number(c.line_offset), c.line_length),
      });
    }
    raw.sort((a, b) => (a.type === b.type ? 0 : a.type === 'request' ? -1 : 1));
  }

  const detail = parseJson<{ contradictions?: unknown[]; heuristic?: unknown; correlation_id?: string }>(accessRow?.verify_detail) ?? {};
  const token = accessRow?.token_id != null ? await db.selectFrom('tokens').selectAll().where('id', '=', accessRow.token_id).executeTakeFirst() : undefined;
  let login: Explanation['login'] = null;
  if (token?.issue_request_id) {
    const loginAccess = await db
      .selectFrom('accesses')
      .select(['time', 'remote_address'])
      .where('request_id', '=', token.issue_request_id)
      .executeTakeFirst();
    login = {
      request_id: token.issue_request_id,
      time: loginAccess?.time ?? token.issued_at,
      remote_address: loginAccess?.remote_address ?? token.issued_remote_address,
      claims: parseJson<Record<string, unknown>>(token.metadata),
    };
  }
  const leaseIds = new Set<string>();
  if (accessRow?.lease_id) leaseIds.add(accessRow.lease_id);
  for (const l of await db.selectFrom('leases').select('lease_id').where('issue_request_id', '=', requestId).execute()) leaseIds.add(l.lease_id);
  const leases = leaseIds.size ? await db.selectFrom('leases').selectAll().where('lease_id', 'in', [...leaseIds]).orderBy('lease_id').execute() : [];

  const jobId = accessRow?.job_id ?? null;
  const job = jobId !== null ? await db.selectFrom('gitlab_jobs').selectAll().where('id', '=', jobId).executeTakeFirst() : undefined;
  const pipelineId = job?.pipeline_id ?? accessRow?.pipeline_id ?? null;
  const pipeline = pipelineId !== null ? await db.selectFrom('gitlab_pipelines').selectAll().where('id', '=', pipelineId).executeTakeFirst() : undefined;
  const project = job ? await db.selectFrom('gitlab_projects').select('path_with_namespace').where('id', '=', job.project_id).executeTakeFirst() : undefined;
  const lookup = jobId !== null && !job ? await db.selectFrom('gitlab_job_lookups').select('status').where('job_id', '=', jobId).executeTakeFirst() : undefined;

  const access: AccessRecord | null = accessRow
    ? toAccessRecord(Object.fromEntries(ACCESS_FIELDS.map((f) => [f, accessRow[f]])) as unknown as Parameters<typeof toAccessRecord>[0])
    : null;

  return {
    request_id: requestId,
    access,
    pairing: accessRow?.pairing ?? null,
    raw,
    attribution: {
      kind: accessRow?.attribution ?? 'none',
      evidence:
        accessRow?.attribution === 'claims'
          ? { claims: parseJson(token?.metadata ?? null) }
          : accessRow?.attribution === 'correlation-id'
            ? { correlation_id: detail.correlation_id ?? null }
            : (detail.heuristic ?? null),
    },
    verification: { verified: accessRow?.verified ?? null, contradictions: detail.contradictions ?? [] },
    token: token
      ? {
          token_id: token.id,
          accessor: token.accessor,
          token_type: token.token_type,
          auth_mount: token.auth_mount,
          role: token.role,
          display_name: token.display_name,
          entity_id: token.entity_id,
          policies: parseJson(token.policies) ?? [],
          ttl_seconds: token.ttl_seconds,
          issued_at: token.issued_at,
          parent_token_id: token.parent_token_id,
          attribution: token.attribution,
          job_id: token.job_id,
          verified: token.verified,
          request_count: token.request_count,
          last_renewed_at: token.last_renewed_at,
          revoked_at: token.revoked_at,
          revoke_kind: token.revoke_kind,
          ends_at: token.ends_at,
          end_inferred: token.end_inferred === 1,
          job_finished_at: token.job_finished_at,
          outlived_job: token.outlived_job === null ? null : token.outlived_job === 1,
        }
      : null,
    login,
    leases: leases.map((l) => ({
      lease_id: l.lease_id,
      issued_at: l.issued_at,
      issue_request_id: l.issue_request_id,
      renew_count: l.renew_count,
      last_renewed_at: l.last_renewed_at,
      ttl_seconds: l.ttl_seconds,
      ended_at: l.ended_at,
      end_kind: l.end_kind,
      end_request_id: l.end_request_id,
      end_inferred: l.end_inferred === 1,
      outlived_job: l.outlived_job === null ? null : l.outlived_job === 1,
    })),
    job: job
      ? {
          ...pick(job, ['id', 'name', 'stage', 'status', 'ref', 'user_login', 'created_at', 'started_at', 'finished_at', 'web_url', 'runner_ip', 'project_id']),
          project_path: project?.path_with_namespace ?? null,
        }
      : jobId !== null
        ? { id: jobId, synced: false, lookup: lookup?.status ?? null }
        : null,
    pipeline: pick(pipeline, ['id', 'project_id', 'status', 'ref', 'sha', 'source', 'created_at', 'updated_at', 'web_url']),
  };
}

function kv(label: string, value: unknown): string {
  const text = value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `  ${label.padEnd(16)} ${text}`;
}

/** The explanation for a person: sections in the order of the chain. */
export function renderExplanation(x: Explanation): string {
  const out: string[] = [];
  const a = x.access;
  out.push(`Request ${x.request_id}`);
  if (a) {
    out.push(kv('time', a.time), kv('operation', a.operation), kv('path', a.path), kv('namespace', a.namespace || '(root)'));
    out.push(kv('outcome', a.outcome), kv('pairing', x.pairing), kv('devices', a.devices.join(', ')), kv('remote address', a.remote_address));
    out.push(kv('display name', a.display_name), kv('entity', a.entity_id), kv('auth mount', a.auth_mount), kv('role', a.role));
    out.push(kv('token accessor', a.token_accessor));
  } else out.push('  (not correlated yet: run `keytrail correlate`)');
  out.push('', 'Attribution');
  out.push(kv('kind', x.attribution.kind), kv('evidence', x.attribution.evidence));
  if (a) out.push(kv('job', a.job_id), kv('pipeline', a.pipeline_id), kv('project', a.project_path ?? a.project_id), kv('user', a.user_login), kv('ref', a.ref));
  out.push('', 'Verification');
  out.push(kv('verified', x.verification.verified ?? '(not attributed)'));
  for (const c of x.verification.contradictions as { check: string; detail: string; claim: unknown; gitlab: unknown }[]) {
    out.push(`  ✗ ${c.check}: ${c.detail} (claim ${JSON.stringify(c.claim)}, GitLab ${JSON.stringify(c.gitlab)})`);
  }
  out.push('', 'GitLab job');
  if (x.job) for (const [k, v] of Object.entries(x.job)) out.push(kv(k, v));
  else out.push('  -');
  out.push('', 'GitLab pipeline');
  if (x.pipeline) for (const [k, v] of Object.entries(x.pipeline)) out.push(kv(k, v));
  else out.push('  -');
  out.push('', 'Token');
  if (x.token) for (const [k, v] of Object.entries(x.token)) out.push(kv(k, v));
  else out.push('  -');
  out.push('', 'Login');
  if (x.login) {
    out.push(kv('request', x.login.request_id), kv('time', x.login.time), kv('remote address', x.login.remote_address), kv('claims', x.login.claims));
  } else out.push('  -');
  out.push('', 'Leases');
  if (x.leases.length === 0) out.push('  -');
  for (const l of x.leases) {
    out.push(`  ${String(l.lease_id)}`);
    for (const [k, v] of Object.entries(l)) if (k !== 'lease_id') out.push(`  ${kv(k, v)}`);
  }
  out.push('', 'Raw audit lines');
  if (x.raw.length === 0) out.push('  -');
  for (const r of x.raw) {
    out.push(`  [${r.type} · ${r.device} · ${r.time}${r.duplicate ? ' · duplicate' : ''}]`);
    out.push(`  ${r.line ?? '(batch pruned)'}`);
  }
  return out.join('\n') + '\n';
}
