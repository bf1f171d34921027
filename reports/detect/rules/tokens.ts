/** How tokens are issued and used: excessive TTLs, orphan or non-expiring tokens, one token from many addresses. */
import type { Evidence, Rule, TokenRow } from '../context.js';
import { ACCESS_COLUMNS, chunks, humanDuration, parseJson, shortToken, tokenSubject } from '../context.js';

function tokenEvidence(t: TokenRow, extra: Partial<Evidence> = {}, facts: Record<string, unknown> = {}): Evidence | null {
  const subject = tokenSubject(t.accessor, t.id);
  if (!subject || !t.issued_time_key) return null;
  return {
    subject,
    time_key: t.issued_time_key,
    request_id: t.issue_request_id,
    job_id: t.job_id,
    project_id: t.project_id,
    user_login: t.user_login,
    ...extra,
    facts: { display_name: t.display_name, ttl: t.ttl_seconds, policies: parseJson<string[]>(t.policies) ?? [], ...facts },
  };
}

function ownerPhrase(e: Evidence): string {
  const name = e.facts?.display_name as string | null;
  if (e.job_id) return `job ${e.job_id}${e.project_path ? ` of ${e.project_path}` : ''}`;
  return name ? `${name}` : 'an unknown caller';
}

async function withProjectPaths(ctx: Parameters<Rule['detect']>[0], list: Evidence[]): Promise<Evidence[]> {
  const projects = await ctx.projectPaths();
  for (const e of list) if (e.project_id && !e.project_path) e.project_path = projects.get(e.project_id) ?? null;
  return list;
}

export const tokenTtlExcessive: Rule = {
  id: 'token-ttl-excessive',
  async detect(ctx) {
    const max = ctx.settings.detections.max_token_ttl_seconds;
    const rows = await ctx.db
      .selectFrom('tokens')
      .selectAll()
      .where('issue_request_id', 'is not', null)
      .where('ttl_seconds', '>', max)
      .execute();
    const out = rows.map((t) => tokenEvidence(t, {}, { max })).filter((e): e is Evidence => e !== null);
    return withProjectPaths(ctx, out);
  },
  describe(group) {
    const e = group.first;
    return `${shortToken(group.subject)} for ${ownerPhrase(e)} was issued with a TTL of ${humanDuration((e.facts!.ttl as number) * 1000)} (${e.facts!.ttl} s, above ${e.facts!.max} s); lower the TTL on its role or create call and revoke it if it is not needed.`;
  },
};

export const orphanTokenCreated: Rule = {
  id: 'orphan-token-created',
  async detect(ctx) {
    // Login tokens have no parent either (Vault marks them orphan): only explicit token creation counts,
    // plus any token issued without expiry that is not a root token (root-token-generated covers those).
    const rows = await ctx.db
      .selectFrom('tokens')
      .innerJoin('accesses', 'accesses.request_id', 'tokens.issue_request_id')
      .selectAll('tokens')
      .select(['accesses.path as issue_path'])
      .where((eb) =>
        eb.or([
          eb.and([eb('accesses.path', 'like', 'auth/token/create%'), eb.or([eb('tokens.orphan', '=', 1), eb('tokens.ttl_seconds', '=', 0)])]),
          eb('tokens.ttl_seconds', '=', 0),
        ]),
      )
      .execute();
    const out: Evidence[] = [];
    for (const t of rows) {
      const policies = parseJson<string[]>(t.policies) ?? [];
      if (policies.includes('root')) continue;
      const nonExpiring = t.ttl_seconds === 0;
      const orphan = t.orphan === 1 && (t.issue_path ?? '').startsWith('auth/token/create');
      if (!nonExpiring && !orphan) continue;
      const e = tokenEvidence(t, { path: t.issue_path }, { orphan, nonExpiring, path: t.issue_path });
      if (e) out.push(e);
    }
    return withProjectPaths(ctx, out);
  },
  describe(group) {
    const e = group.first;
    const kinds = [e.facts!.orphan ? 'orphan' : null, e.facts!.nonExpiring ? 'non-expiring' : null].filter(Boolean).join(' and ');
    const policies = (e.facts!.policies as string[]).join(', ') || 'no policies';
    return `an ${kinds} ${shortToken(group.subject)} (${ownerPhrase(e)}, policies ${policies}) was created through ${e.facts!.path}; it survives its creator's revocation — revoke it unless it is a documented service credential.`;
  },
};

export const tokenMultiIp: Rule = {
  id: 'token-multi-ip',
  async detect(ctx) {
    const multi = await ctx.db
      .selectFrom('accesses')
      .select('token_id')
      .where('token_id', 'is not', null)
      .where('remote_address', 'is not', null)
      .groupBy('token_id')
      .having((eb) => eb.fn.count('remote_address').distinct(), '>', 1)
      .execute();
    const ids = multi.map((m) => m.token_id as number);
    const tokens = await ctx.tokens(ids);
    const out: Evidence[] = [];
    for (const part of chunks(ids)) {
      const rows = await ctx.db
        .selectFrom('accesses')
        .select([...ACCESS_COLUMNS])
        .where('token_id', 'in', part)
        .where('remote_address', 'is not', null)
        .orderBy('token_id')
        .orderBy('time_key')
        .orderBy('request_id')
        .execute();
      let current: number | null = null;
      let firstAddress: string | null = null;
      for (const r of rows) {
        if (r.token_id !== current) {
          current = r.token_id;
          firstAddress = r.remote_address;
        }
        // Evidence is every request from an address other than the one the token was first used from.
        if (r.remote_address === firstAddress) continue;
        const token = tokens.get(r.token_id!);
        out.push({
          subject: tokenSubject(token?.accessor ?? r.token_accessor, r.token_id)!,
          time_key: r.time_key,
          request_id: r.request_id,
          job_id: r.job_id ?? token?.job_id ?? null,
          project_id: r.project_id ?? token?.project_id ?? null,
          project_path: r.project_path,
          user_login: r.user_login ?? token?.user_login ?? null,
          path: r.path,
          facts: { first: firstAddress, address: r.remote_address, display_name: r.display_name },
        });
      }
    }
    return withProjectPaths(ctx, out);
  },
  describe(group) {
    const first = group.first.facts!.first as string;
    const others = [...new Set(group.items.map((e) => e.facts!.address as string))];
    return `${shortToken(group.subject)} of ${ownerPhrase(group.first)} was first used from ${first} and then from ${others.slice(0, 5).join(', ')}${others.length > 5 ? ` and ${others.length - 5} more` : ''} (${group.count} request${group.count === 1 ? '' : 's'}); check whether it was copied off its runner and revoke it if so.`;
  },
};
