/**
 * Changes to Vault's own configuration, read from the requests that made them: audit devices, policies,
 * auth methods, JWT roles, secrets engines, root generation. Only successful writes count (a denied attempt
 * changed nothing; the burst rules see denials).
 */
import type { Evidence, Rule, RuleContext, EvidenceGroup } from '../context.js';
import { actorPhrase, parseJson, tokenSubject } from '../context.js';

interface WriteRow {
  request_id: string;
  time_key: string;
  operation: string | null;
  path: string | null;
  namespace: string;
  mount_type: string | null;
  display_name: string | null;
  token_accessor: string | null;
  token_id: number | null;
  job_id: number | null;
  project_id: number | null;
  project_path: string | null;
  user_login: string | null;
  pairing: string;
}

const WRITE_OPS = ['create', 'update', 'delete', 'patch'];
const cache = new WeakMap<RuleContext, Promise<WriteRow[]>>();

/** Successful writes under sys/ and auth/ (logins excluded), ordered by time: one scan shared by the rules. */
function configWrites(ctx: RuleContext): Promise<WriteRow[]> {
  let p = cache.get(ctx);
  if (!p) {
    p = ctx.db
      .selectFrom('accesses')
      .select([
        'request_id',
        'time_key',
        'operation',
        'path',
        'namespace',
        'mount_type',
        'display_name',
        'token_accessor',
        'token_id',
        'job_id',
        'project_id',
        'project_path',
        'user_login',
        'pairing',
      ])
      .where('outcome', '=', 'ok')
      .where('operation', 'in', WRITE_OPS)
      .where((eb) => eb.or([eb('path', 'like', 'sys/%'), eb.and([eb('path', 'like', 'auth/%'), eb('path', 'not like', 'auth/%/login%')])]))
      .orderBy('time_key')
      .orderBy('request_id')
      .execute();
    cache.set(ctx, p);
  }
  return p;
}

function ns(row: { namespace: string }): string {
  return row.namespace ? row.namespace.replace(/\/?$/, '/') : '';
}

function evidenceOf(row: WriteRow, subject: string, facts: Record<string, unknown> = {}): Evidence {
  return {
    subject,
    time_key: row.time_key,
    request_id: row.request_id,
    job_id: row.job_id,
    project_id: row.project_id,
    project_path: row.project_path,
    user_login: row.user_login,
    path: row.path,
    facts: { operation: row.operation, display_name: row.display_name, ...facts },
  };
}

function verb(op: unknown, created: string, deleted: string, updated = 'changed'): string {
  return op === 'delete' ? deleted : op === 'create' ? created : updated;
}

function who(group: EvidenceGroup): string {
  const e = group.last;
  return actorPhrase(e, e.facts?.display_name as string | null);
}

function times(group: EvidenceGroup): string {
  return group.count > 1 ? ` (${group.count} changes, last by ${who(group)})` : ` by ${who(group)}`;
}

export const auditDeviceChanged: Rule = {
  id: 'audit-device-changed',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const row of await configWrites(ctx)) {
      const path = row.path ?? '';
      const device = /^sys\/audit\/(.+)$/.exec(path);
      // The sys/audit/test probe is written by Vault itself into a device being enabled (request only).
      if (device && !(device[1] === 'test' && row.pairing === 'request-only')) {
        out.push(evidenceOf(row, `device:${ns(row)}${device[1]!.replace(/\/$/, '')}`, { kind: 'device' }));
        continue;
      }
      const header = /^sys\/config\/auditing\/request-headers\/(.+)$/.exec(path);
      if (header) out.push(evidenceOf(row, `header:${ns(row)}${header[1]}`, { kind: 'header' }));
    }
    return out;
  },
  describe(group) {
    const what = group.subject.startsWith('header:') ? `audited request header ${group.subject.slice(7)}` : `audit device ${group.subject.slice(7)}`;
    return `${what} was ${verb(group.last.facts?.operation, 'enabled', 'disabled', 'enabled or changed')}${times(group)} at ${group.last.time_key.slice(0, 19)}Z; check the change was approved and every device still reaches keytrail.`;
  },
};

export const policyChanged: Rule = {
  id: 'policy-changed',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const row of await configWrites(ctx)) {
      const m = /^sys\/(?:policy|policies\/acl)\/(.+)$/.exec(row.path ?? '');
      if (m) out.push(evidenceOf(row, `policy:${ns(row)}${m[1]}`));
    }
    return out;
  },
  describe(group) {
    return `ACL policy ${group.subject.slice(7)} was ${verb(group.last.facts?.operation, 'written', 'deleted', 'written')}${times(group)}; tie it to an approved change.`;
  },
};

export const authMethodChanged: Rule = {
  id: 'auth-method-changed',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const row of await configWrites(ctx)) {
      const m = /^sys\/auth\/(.+?)(\/tune)?$/.exec(row.path ?? '');
      if (m) out.push(evidenceOf(row, `mount:${ns(row)}auth/${m[1]!.replace(/\/$/, '')}/`, { tune: Boolean(m[2]) }));
    }
    return out;
  },
  describe(group) {
    const action = group.last.facts?.tune ? 'tuned' : verb(group.last.facts?.operation, 'enabled', 'disabled', 'enabled or changed');
    return `auth method ${group.subject.slice(6)} was ${action}${times(group)}; confirm the change was approved.`;
  },
};

export const jwtRoleChanged: Rule = {
  id: 'jwt-role-changed',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const row of await configWrites(ctx)) {
      const path = row.path ?? '';
      const m = /^(auth\/.+?)\/(role\/.+|config)$/.exec(path);
      if (!m) continue;
      const jwtMount = row.mount_type === 'jwt' || row.mount_type === 'oidc' || (row.mount_type === null && /^auth\/(jwt|oidc)\//.test(path));
      if (jwtMount) out.push(evidenceOf(row, `role:${ns(row)}${path}`));
    }
    return out;
  },
  describe(group) {
    const target = group.subject.slice(5);
    const what = target.endsWith('/config') ? `JWT/OIDC config ${target}` : `JWT/OIDC role ${target}`;
    return `${what} was ${verb(group.last.facts?.operation, 'written', 'deleted', 'written')}${times(group)}; review its bound_claims, bound_audiences, policies and TTLs.`;
  },
};

export const mountChanged: Rule = {
  id: 'mount-changed',
  async detect(ctx) {
    const out: Evidence[] = [];
    for (const row of await configWrites(ctx)) {
      const path = row.path ?? '';
      const m = /^sys\/mounts\/(.+?)(\/tune)?$/.exec(path);
      if (m) {
        out.push(evidenceOf(row, `mount:${ns(row)}${m[1]!.replace(/\/$/, '')}/`, { tune: Boolean(m[2]) }));
      } else if (path === 'sys/remount' || path.startsWith('sys/remount/')) {
        out.push(evidenceOf(row, `mount:${ns(row)}(remount)`, { remount: true }));
      }
    }
    return out;
  },
  describe(group) {
    const f = group.last.facts ?? {};
    const action = f.remount ? 'moved' : f.tune ? 'tuned' : verb(f.operation, 'mounted', 'unmounted', 'mounted or changed');
    return `secrets engine ${group.subject.slice(6)} was ${action}${times(group)}; confirm the change and that no audit_non_hmac_* key exposes secret values.`;
  },
};

export const rootTokenGenerated: Rule = {
  id: 'root-token-generated',
  async detect(ctx) {
    const out: Evidence[] = [];
    // Root generation: starting, feeding key shares, cancelling (reads are status polls and change nothing).
    for (const row of await configWrites(ctx)) {
      if ((row.path ?? '').startsWith('sys/generate-root')) out.push(evidenceOf(row, `request:${row.request_id}`, { kind: 'generate-root' }));
    }
    // A token created with the root policy (auth/token/create by a root token, or the generate-root result).
    const created = await ctx.db
      .selectFrom('tokens')
      .select(['id', 'issue_request_id', 'issued_time_key', 'accessor', 'policies', 'display_name'])
      .where('issue_request_id', 'is not', null)
      .where('policies', 'like', '%"root"%')
      .execute();
    for (const t of created) {
      const policies = parseJson<string[]>(t.policies) ?? [];
      if (!policies.includes('root') || !t.issued_time_key) continue;
      out.push({
        subject: `request:${t.issue_request_id}`,
        time_key: t.issued_time_key,
        request_id: t.issue_request_id,
        facts: { kind: 'root-token-created', token: tokenSubject(t.accessor, t.id), display_name: t.display_name },
      });
    }
    // The server log records generation too (the final step of generate-root is not always in the audit log).
    const events = await ctx.db
      .selectFrom('server_events')
      .select(['id', 'time_key', 'message'])
      .where('kind', '=', 'root-generation')
      .execute();
    for (const e of events) {
      out.push({ subject: `server-log:${e.time_key}`, time_key: e.time_key, request_id: null, facts: { kind: 'server-log', message: e.message } });
    }
    return out;
  },
  describe(group) {
    const f = group.last.facts ?? {};
    if (f.kind === 'server-log') return `the Vault server log reports root token generation ("${String(f.message).slice(0, 120)}"); confirm it was an approved break-glass procedure.`;
    if (f.kind === 'root-token-created') return `a token with the root policy was created (${f.token ?? 'unknown accessor'}${f.display_name ? `, ${f.display_name}` : ''}); revoke it as soon as the task is done.`;
    return `${group.last.path} was called (${f.operation}) by ${actorPhrase(group.last, f.display_name as string | null)}; confirm root generation was an approved break-glass procedure and revoke the resulting root token.`;
  },
};
