/**
 * Rules that need the GitLab side: which job made the request, when it ended, which project, ref and
 * pipeline source it ran for, and whether GitLab agrees with the token's claims.
 */
import type { AccessRow, Evidence, JobInfo, Rule, RuleContext } from '../context.js';
import { ACCESS_COLUMNS, chunks, gitlabMillis, humanDuration, keyMillis, parseJson, shortToken, tokenSubject } from '../context.js';
import { cidrMatcher, globMatcher, ownerMatcher } from '../match.js';
import { dateToTimeKey, timeKeyToIso } from '../../../db/time.js';

function accessEvidence(r: AccessRow, subject: string, facts: Record<string, unknown> = {}, projectPath?: string | null): Evidence {
  return {
    subject,
    time_key: r.time_key,
    request_id: r.request_id,
    job_id: r.job_id,
    project_id: r.project_id,
    project_path: r.project_path ?? projectPath ?? null,
    user_login: r.user_login,
    path: r.path,
    lease_id: r.lease_id,
    facts: { address: r.remote_address, display_name: r.display_name, operation: r.operation, ...facts },
  };
}

function jobPhrase(e: Evidence): string {
  if (e.job_id === null || e.job_id === undefined) return (e.facts?.display_name as string) ?? 'a token';
  return `job ${e.job_id}${e.project_path ? ` of ${e.project_path}` : e.project_id ? ` of project ${e.project_id}` : ''}`;
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const unexpectedSourceIp: Rule = {
  id: 'unexpected-source-ip',
  async detect(ctx) {
    const cidrs = ctx.settings.detections.runner_cidrs ?? [];
    if (cidrs.length === 0) return [];
    const inside = cidrMatcher(cidrs);
    const addresses = await ctx.db
      .selectFrom('accesses')
      .select('remote_address')
      .distinct()
      .where('attribution', '!=', 'none')
      .where('remote_address', 'is not', null)
      .execute();
    const outside = addresses.map((a) => a.remote_address as string).filter((a) => !inside(a));
    const out: Evidence[] = [];
    for (const part of chunks(outside)) {
      const rows = await ctx.db
        .selectFrom('accesses')
        .select([...ACCESS_COLUMNS])
        .where('attribution', '!=', 'none')
        .where('remote_address', 'in', part)
        .execute();
      for (const r of rows) {
        const subject = tokenSubject(r.token_accessor, r.token_id) ?? `address:${r.remote_address}`;
        out.push(accessEvidence(r, subject));
      }
    }
    return out;
  },
  describe(group) {
    const addresses = [...new Set(group.items.map((e) => e.facts!.address as string))];
    return `${shortToken(group.subject)} of ${jobPhrase(group.first)} was used from ${addresses.slice(0, 3).join(', ')}, outside the runner networks (${count(group.count, 'request')}, first ${group.first.facts!.operation} ${group.first.path}); treat it as leaked: revoke it and rotate what it read.`;
  },
};

export const tokenUsedAfterJob: Rule = {
  id: 'token-used-after-job',
  async detect(ctx) {
    const tokens = await ctx.db
      .selectFrom('tokens')
      .select(['id', 'accessor', 'job_id', 'job_finished_at', 'last_used_time_key', 'issue_request_id'])
      .where('job_id', 'is not', null)
      .execute();
    const jobs = await ctx.jobs(tokens.map((t) => t.job_id as number));
    const candidates = new Map<number, { limitKey: string; finishedMs: number; accessor: string | null }>();
    for (const t of tokens) {
      const finishedMs = gitlabMillis(jobs.get(t.job_id!)?.finished_at ?? t.job_finished_at);
      if (finishedMs === null) continue;
      const limitKey = dateToTimeKey(new Date(finishedMs + ctx.graceMs));
      if (t.last_used_time_key && t.last_used_time_key <= limitKey) continue;
      candidates.set(t.id, { limitKey, finishedMs, accessor: t.accessor });
    }
    const projects = await ctx.projectPaths();
    const out: Evidence[] = [];
    for (const part of chunks([...candidates.keys()])) {
      const rows = await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('token_id', 'in', part).execute();
      for (const r of rows) {
        const c = candidates.get(r.token_id!)!;
        if (r.time_key <= c.limitKey) continue;
        // Revoking itself after the job is hygiene, not use.
        if (r.path === 'auth/token/revoke-self') continue;
        const job = await ctx.job(r.job_id);
        out.push(
          accessEvidence(r, tokenSubject(c.accessor ?? r.token_accessor, r.token_id)!, { afterMs: keyMillis(r.time_key) - c.finishedMs }, job ? projects.get(job.project_id) : null),
        );
      }
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    const more = group.count > 1 ? ` (${count(group.count, 'request')} after the job, last ${humanDuration(group.last.facts!.afterMs as number)} after)` : '';
    return `${jobPhrase(e)} ${e.facts!.operation === 'read' ? 'read' : `called ${e.facts!.operation}`} ${e.path} ${humanDuration(e.facts!.afterMs as number)} after it finished${e.facts!.address ? `, from ${e.facts!.address}` : ''}${more}; revoke the token and find who used it.`;
  },
};

export const leaseOutlivedJob: Rule = {
  id: 'lease-outlived-job',
  async detect(ctx) {
    const projects = await ctx.projectPaths();
    const out: Evidence[] = [];
    const leases = await ctx.db.selectFrom('leases').selectAll().where('outlived_job', '=', 1).execute();
    for (const l of leases) {
      const facts = { kind: 'lease', ended_at: l.ended_at, end_kind: l.end_kind, inferred: l.end_inferred === 1, finished: l.job_finished_at };
      const base = { subject: `lease:${l.lease_id}`, job_id: l.job_id, project_id: l.project_id, project_path: l.project_id ? projects.get(l.project_id) ?? null : null, user_login: l.user_login, lease_id: l.lease_id, path: l.lease_id.replace(/\/[^/]+$/, '') };
      out.push({ ...base, time_key: l.issued_time_key, request_id: l.issue_request_id, facts });
      if (l.end_request_id && l.ended_at) {
        const key = l.ended_at.length === 30 ? l.ended_at : dateToTimeKey(new Date(l.ended_at));
        out.push({ ...base, time_key: key, request_id: l.end_request_id, facts });
      }
    }
    const tokens = await ctx.db.selectFrom('tokens').selectAll().where('outlived_job', '=', 1).execute();
    for (const t of tokens) {
      if (!t.issued_time_key) continue;
      out.push({
        subject: tokenSubject(t.accessor, t.id)!,
        time_key: t.issued_time_key,
        request_id: t.issue_request_id,
        job_id: t.job_id,
        project_id: t.project_id,
        project_path: t.project_id ? projects.get(t.project_id) ?? null : null,
        user_login: t.user_login,
        path: null,
        facts: { kind: 'token', ended_at: t.ends_at, end_kind: t.revoke_kind ?? 'ttl', inferred: t.end_inferred === 1, finished: t.job_finished_at, ttl: t.ttl_seconds },
      });
    }
    return out;
  },
  describe(group, ctx) {
    const e = group.first;
    const f = e.facts!;
    const end = typeof f.ended_at === 'string' ? Date.parse(f.ended_at.length === 30 ? timeKeyToIso(f.ended_at) : f.ended_at) : NaN;
    const finished = typeof f.finished === 'string' ? Date.parse(f.finished) : NaN;
    const after = Number.isFinite(end) && Number.isFinite(finished) ? ` ${humanDuration(end - finished)} after the job finished` : ' after the job finished';
    const what = f.kind === 'lease' ? `lease ${e.lease_id}` : shortToken(group.subject);
    const tense = f.inferred ? (Number.isFinite(end) && end > ctx.now.getTime() ? 'will end' : 'ended (inferred from its TTL)') : `ended (${f.end_kind ?? 'revoked'})`;
    return `${what} of ${jobPhrase(e)} ${tense}${after}; revoke credentials at job end and shorten the role TTLs.`;
  },
};

async function pathsMatching(ctx: RuleContext, test: (path: string) => boolean): Promise<string[]> {
  return (await ctx.distinctSecretPaths()).filter(test);
}

async function projectPathOf(ctx: RuleContext, r: AccessRow, job: JobInfo | undefined): Promise<string | null> {
  if (r.project_path) return r.project_path;
  const projects = await ctx.projectPaths();
  const id = r.project_id ?? job?.project_id ?? null;
  return id !== null ? projects.get(id) ?? null : null;
}

export const crossProjectAccess: Rule = {
  id: 'cross-project-access',
  async detect(ctx) {
    const owners = ctx.settings.detections.path_owners ?? {};
    if (Object.keys(owners).length === 0) return [];
    const ownerOf = ownerMatcher(owners);
    const rows = await ctx.secretAccessesTo(await pathsMatching(ctx, (p) => ownerOf(p) !== null));
    const jobs = await ctx.jobs(rows.filter((r) => r.job_id !== null).map((r) => r.job_id!));
    const out: Evidence[] = [];
    for (const r of rows) {
      if (r.job_id === null) continue;
      const job = jobs.get(r.job_id);
      const projectPath = await projectPathOf(ctx, r, job);
      const owner = ownerOf(r.path!)!;
      const projectId = r.project_id ?? job?.project_id ?? null;
      const same = (projectPath !== null && projectPath.toLowerCase() === owner.toLowerCase()) || (projectId !== null && String(projectId) === owner);
      if (same || (projectPath === null && projectId === null)) continue;
      out.push(accessEvidence(r, `job:${r.job_id} path:${r.path}`, { owner }, projectPath));
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    return `${jobPhrase(e)} read ${e.path}, which belongs to ${e.facts!.owner}${group.count > 1 ? ` (${count(group.count, 'time')})` : ''}; narrow the role's policy to its own project's paths and rotate the secret if unexpected.`;
  },
};

/** Production reads by jobs, with the token's claims (metadata) and the GitLab job beside each. */
async function productionJobReads(ctx: RuleContext): Promise<Array<{ r: AccessRow; job: JobInfo | undefined; claims: Record<string, string>; projectPath: string | null }>> {
  const isProd = globMatcher(ctx.settings.detections.production_paths ?? []);
  const rows = (await ctx.secretAccessesTo(await pathsMatching(ctx, isProd))).filter((r) => r.job_id !== null);
  const jobs = await ctx.jobs(rows.map((r) => r.job_id!));
  const tokens = await ctx.tokens(rows.filter((r) => r.token_id !== null).map((r) => r.token_id!));
  const out = [];
  for (const r of rows) {
    const job = jobs.get(r.job_id!);
    const claims = (r.token_id !== null ? parseJson<Record<string, string>>(tokens.get(r.token_id)?.metadata) : null) ?? {};
    out.push({ r, job, claims, projectPath: await projectPathOf(ctx, r, job) });
  }
  return out;
}

export const unprotectedRefProdSecret: Rule = {
  id: 'unprotected-ref-prod-secret',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const { r, claims, projectPath, job } of await productionJobReads(ctx)) {
      if (String(claims.ref_protected ?? '').toLowerCase() !== 'false') continue;
      out.push(accessEvidence(r, `job:${r.job_id} path:${r.path}`, { ref: r.ref ?? claims.ref ?? job?.ref ?? null }, projectPath));
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    return `${jobPhrase(e)} on unprotected ref ${e.facts!.ref ?? '(unknown)'} read production secret ${e.path}${group.count > 1 ? ` (${count(group.count, 'time')})` : ''}; bind the role to ref_protected=true and rotate the secret.`;
  },
};

const UNTRUSTED_SOURCES: Record<string, string> = {
  api: 'pipeline started through the API',
  trigger: 'pipeline started with a trigger token',
  web: 'pipeline started from the web UI',
};

export const untrustedPipelineSource: Rule = {
  id: 'untrusted-pipeline-source',
  async detect(ctx) {
    const projects = await ctx.db.selectFrom('gitlab_projects').select(['id', 'forked_from_project_id']).execute();
    const forks = new Set(projects.filter((p) => p.forked_from_project_id !== null).map((p) => String(p.id)));
    const out: Evidence[] = [];
    for (const { r, job, claims, projectPath } of await productionJobReads(ctx)) {
      const source = job?.pipeline_source ?? claims.pipeline_source ?? null;
      if (!source) continue;
      let reason: string | null = null;
      if (Object.prototype.hasOwnProperty.call(UNTRUSTED_SOURCES, source)) reason = UNTRUSTED_SOURCES[source]!;
      else if (source === 'merge_request_event') {
        // For a fork's merge-request pipeline the project_* claims name the fork, not the project the job runs in.
        const claimed = claims.project_id ?? null;
        const runsIn = claims.job_project_id ?? (job ? String(job.project_id) : r.project_id !== null ? String(r.project_id) : null);
        const fromFork = (claimed !== null && runsIn !== null && claimed !== runsIn) || (claimed !== null && forks.has(claimed));
        if (fromFork) reason = 'merge-request pipeline from a fork';
      }
      if (reason) out.push(accessEvidence(r, `job:${r.job_id} path:${r.path}`, { source, reason }, projectPath));
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    return `${jobPhrase(e)} (${e.facts!.reason}) read production secret ${e.path}${group.count > 1 ? ` (${count(group.count, 'time')})` : ''}; bind production roles to trusted sources and protected refs, and check who started the pipeline.`;
  },
};

export const jobNotFound: Rule = {
  id: 'job-not-found',
  async detect(ctx) {
    const missing = await ctx.db.selectFrom('gitlab_job_lookups').select(['job_id', 'checked_at']).where('status', '=', 'not-found').execute();
    const ids = missing.map((m) => m.job_id);
    const known = await ctx.jobs(ids);
    const unknown = ids.filter((id) => !known.has(id));
    const out: Evidence[] = [];
    for (const part of chunks(unknown)) {
      const rows = await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('job_id', 'in', part).where('attribution', '=', 'claims').execute();
      for (const r of rows) out.push(accessEvidence(r, `job:${r.job_id}`));
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    const addresses = [...new Set(group.items.map((i) => i.facts!.address).filter(Boolean))];
    return `tokens claiming job ${e.job_id}${e.project_path ? ` of ${e.project_path}` : e.project_id ? ` of project ${e.project_id}` : ''} made ${count(group.count, 'request')}${addresses.length ? ` from ${addresses.slice(0, 3).join(', ')}` : ''}, but GitLab does not know that job; check the JWT issuer and revoke the tokens.`;
  },
};

/** A contradiction the correlator recorded in verify_detail (`{"contradictions":[{check, claim, gitlab, detail}]}`). */
export interface Contradiction {
  check: string;
  detail: string;
}

export function contradictions(detail: string | null): Contradiction[] {
  const parsed = parseJson<{ contradictions?: unknown }>(detail);
  const list = parsed && Array.isArray(parsed.contradictions) ? parsed.contradictions : [];
  return list
    .filter((c): c is Record<string, unknown> => typeof c === 'object' && c !== null)
    .map((c) => ({ check: String(c.check ?? 'unknown'), detail: String(c.detail ?? '') }));
}

/**
 * Contradictions this rule leaves to others: a request after the job finished (token-used-after-job) and a
 * job GitLab does not know (job-not-found).
 */
function coveredElsewhere(c: Contradiction): boolean {
  return c.check === 'job' || (c.check === 'time' && /after/i.test(c.detail));
}

export const claimsMismatch: Rule = {
  id: 'claims-mismatch',
  async detect(ctx) {
    const rows = await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('verified', '=', 'no').execute();
    const projects = await ctx.projectPaths();
    const out: Evidence[] = [];
    for (const r of rows) {
      const substantive = contradictions(r.verify_detail).filter((c) => !coveredElsewhere(c));
      if (substantive.length === 0) continue;
      const subject = tokenSubject(r.token_accessor, r.token_id) ?? `job:${r.job_id}`;
      out.push(accessEvidence(r, subject, { contradictions: substantive.map((c) => `${c.check}: ${c.detail}`) }, r.project_id ? projects.get(r.project_id) : null));
    }
    return out;
  },
  describe(group) {
    const fields = [...new Set(group.items.flatMap((e) => e.facts!.contradictions as string[]))];
    const e = group.first;
    return `GitLab contradicts the claims of ${shortToken(group.subject)} of ${jobPhrase(e)} (${fields.join(', ')}) on ${count(group.count, 'request')}, first ${e.facts!.operation} ${e.path}; treat it as forged or misused: revoke it and rotate what it read.`;
  },
};
