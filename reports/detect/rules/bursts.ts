/** Threshold rules over sliding windows: denied requests, failed logins, list-then-read enumeration. */
import type { AccessRow, Evidence, Rule, RuleContext } from '../context.js';
import { ACCESS_COLUMNS, chunks, keyMillis, shortToken, tokenSubject } from '../context.js';
import { threshold } from '../settings.js';

/** Indexes of the items (sorted by time) that belong to at least one window of `windowMs` holding ≥ `count`. */
export function burstMembers(times: number[], count: number, windowMs: number): number[] {
  const members: number[] = [];
  let start = 0;
  let marked = -1;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! > windowMs) start++;
    if (end - start + 1 >= count) {
      for (let i = Math.max(start, marked + 1); i <= end; i++) members.push(i);
      marked = end;
    }
  }
  return members;
}

interface Keyed {
  kind: string;
  key: (r: AccessRow) => string | null;
}

/**
 * Bursts per key kind, most specific first: a burst whose requests are all inside bursts of a more specific
 * key (the same token's denials also share its address) is not reported again.
 */
function bursts(rows: AccessRow[], keys: Keyed[], count: number, windowMs: number, facts: (r: AccessRow) => Record<string, unknown>): Evidence[] {
  const covered = new Set<string>();
  const out: Evidence[] = [];
  for (const k of keys) {
    const groups = new Map<string, AccessRow[]>();
    for (const r of rows) {
      const key = k.key(r);
      if (!key) continue;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(r);
    }
    const coveredNow: string[] = [];
    for (const [key, list] of groups) {
      const members = burstMembers(
        list.map((r) => keyMillis(r.time_key)),
        count,
        windowMs,
      ).map((i) => list[i]!);
      if (members.length === 0 || members.every((r) => covered.has(r.request_id))) continue;
      for (const r of members) {
        coveredNow.push(r.request_id);
        out.push({
          subject: `${k.kind}:${key}`,
          time_key: r.time_key,
          request_id: r.request_id,
          job_id: r.job_id,
          project_id: r.project_id,
          project_path: r.project_path,
          user_login: r.user_login,
          path: r.path,
          facts: facts(r),
        });
      }
    }
    for (const id of coveredNow) covered.add(id);
  }
  return out;
}

function sortRows(rows: AccessRow[]): AccessRow[] {
  return rows.sort((a, b) => (a.time_key < b.time_key ? -1 : a.time_key > b.time_key ? 1 : a.request_id < b.request_id ? -1 : 1));
}

function subjectPhrase(subject: string): string {
  if (subject.startsWith('token:')) return shortToken(subject);
  const i = subject.indexOf(':');
  return `${subject.slice(0, i)} ${subject.slice(i + 1)}`;
}

export const permissionDeniedBurst: Rule = {
  id: 'permission-denied-burst',
  async detect(ctx) {
    const { count, window_seconds } = threshold(ctx.settings, 'permission-denied-burst');
    const rows = sortRows(await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('outcome', '=', 'denied').execute());
    return bursts(
      rows,
      [
        { kind: 'token', key: (r) => tokenSubject(r.token_accessor, r.token_id)?.slice(6) ?? null },
        { kind: 'entity', key: (r) => r.entity_id },
        { kind: 'address', key: (r) => r.remote_address },
      ],
      count,
      window_seconds * 1000,
      (r) => ({ display_name: r.display_name, address: r.remote_address, count, window_seconds }),
    );
  },
  describe(group) {
    const paths = [...new Set(group.items.map((e) => e.path).filter(Boolean))];
    const f = group.first.facts!;
    const who = group.first.job_id ? ` (job ${group.first.job_id}${group.first.project_path ? ` of ${group.first.project_path}` : ''})` : f.display_name ? ` (${f.display_name})` : '';
    return `${subjectPhrase(group.subject)}${who} was denied ${group.count} times in bursts of ≥ ${f.count} within ${f.window_seconds} s, on ${paths.length} path${paths.length === 1 ? '' : 's'} such as ${paths.slice(0, 3).join(', ')}; find out what it was probing.`;
  },
};

function isLoginPath(path: string | null): boolean {
  return path !== null && /^auth\/.+\/login(\/.*)?$/.test(path);
}

export const loginFailureBurst: Rule = {
  id: 'login-failure-burst',
  async detect(ctx) {
    const { count, window_seconds } = threshold(ctx.settings, 'login-failure-burst');
    const rows = await ctx.db
      .selectFrom('accesses')
      .select([...ACCESS_COLUMNS])
      .where('outcome', 'in', ['error', 'denied'])
      .where('path', 'like', 'auth/%/login%')
      .execute();
    return bursts(
      sortRows(rows.filter((r) => isLoginPath(r.path))),
      [
        { kind: 'address', key: (r) => r.remote_address },
        { kind: 'role', key: (r) => (r.role ? `${r.auth_mount ?? r.path!.replace(/login.*$/, '')}${r.role}` : null) },
      ],
      count,
      window_seconds * 1000,
      (r) => ({ mount: r.path, count, window_seconds }),
    );
  },
  describe(group) {
    const mounts = [...new Set(group.items.map((e) => e.path).filter(Boolean))];
    const f = group.first.facts!;
    return `${group.count} logins failed from ${subjectPhrase(group.subject)} in bursts of ≥ ${f.count} within ${f.window_seconds} s (${mounts.slice(0, 3).join(', ')}); check for replayed or forged JWTs, a broken role binding, or guessing.`;
  },
};

export const secretEnumeration: Rule = {
  id: 'secret-enumeration',
  async detect(ctx: RuleContext) {
    const { count, window_seconds } = threshold(ctx.settings, 'secret-enumeration');
    const windowMs = window_seconds * 1000;
    const listers = await ctx.db
      .selectFrom('accesses')
      .select('token_id')
      .distinct()
      .where('operation', '=', 'list')
      .where('outcome', '=', 'ok')
      .where('token_id', 'is not', null)
      .execute();
    const out: Evidence[] = [];
    for (const part of chunks(listers.map((l) => l.token_id as number))) {
      const rows = await ctx.db
        .selectFrom('accesses')
        .select([...ACCESS_COLUMNS])
        .where('token_id', 'in', part)
        .where('outcome', '=', 'ok')
        .where((eb) => eb.or([eb('operation', '=', 'list'), eb.and([eb('operation', '=', 'read'), eb('is_secret_access', '=', 1)])]))
        .orderBy('token_id')
        .orderBy('time_key')
        .orderBy('request_id')
        .execute();
      const byToken = new Map<number, AccessRow[]>();
      for (const r of rows) {
        let list = byToken.get(r.token_id!);
        if (!list) byToken.set(r.token_id!, (list = []));
        list.push(r);
      }
      for (const list of byToken.values()) {
        const evidence = new Map<string, AccessRow>();
        for (let i = 0; i < list.length; i++) {
          const l = list[i]!;
          if (l.operation !== 'list') continue;
          const start = keyMillis(l.time_key);
          const reads: AccessRow[] = [];
          const paths = new Set<string>();
          for (let j = i + 1; j < list.length; j++) {
            const r = list[j]!;
            if (keyMillis(r.time_key) - start > windowMs) break;
            if (r.operation !== 'read') continue;
            reads.push(r);
            paths.add(r.path ?? '');
          }
          if (paths.size >= count) for (const r of [l, ...reads]) evidence.set(r.request_id, r);
        }
        for (const r of evidence.values()) {
          out.push({
            subject: tokenSubject(r.token_accessor, r.token_id)!,
            time_key: r.time_key,
            request_id: r.request_id,
            job_id: r.job_id,
            project_id: r.project_id,
            project_path: r.project_path,
            user_login: r.user_login,
            path: r.path,
            facts: { operation: r.operation, display_name: r.display_name, count, window_seconds },
          });
        }
      }
    }
    return out;
  },
  describe(group) {
    const reads = new Set(group.items.filter((e) => e.facts!.operation === 'read').map((e) => e.path));
    const lists = group.items.filter((e) => e.facts!.operation === 'list');
    const who = group.first.job_id ? `job ${group.first.job_id}${group.first.project_path ? ` of ${group.first.project_path}` : ''}` : ((group.first.facts!.display_name as string) ?? 'a token');
    return `${who} listed ${lists[0]?.path ?? 'secrets'} and then read ${reads.size} distinct secrets within ${group.first.facts!.window_seconds} s; confirm it needed them all and narrow its policy.`;
  },
};
