/** Reads that no CI job explains: owned secrets read outside CI, and people reading production off hours. */
import type { AccessRow, Evidence, Rule, RuleContext } from '../context.js';
import { keyMillis, tokenSubject } from '../context.js';
import { businessHoursMatcher, globMatcher, ownerMatcher } from '../match.js';

/**
 * Machine credentials that are not CI jobs: AppRole, Kubernetes, cloud IAM, TLS certificates. A token from
 * one of these is a service, not a person, even when no job explains it.
 */
const MACHINE_MOUNT = /^auth\/(approle|kubernetes|k8s|aws|gcp|azure|alicloud|oci|cert|tls)[^/]*\//i;

export type TokenOrigin = 'ci' | 'service' | 'person';

/**
 * Who holds a token no job was attributed to. A JWT `login` is a CI job whose job could not be named (people
 * log in through the OIDC browser flow, `…/oidc/callback`); when the issuing request is unknown, a mount named
 * like a CI JWT mount counts as CI.
 */
export function tokenOrigin(authMount: string | null, displayName: string | null, issue: { path: string | null; mount_type: string | null } | undefined): TokenOrigin {
  if (issue?.path && (issue.mount_type === 'jwt' || issue.mount_type === 'oidc') && /^auth\/.+\/login$/.test(issue.path)) return 'ci';
  if (!issue && authMount && /^auth\/(jwt|gitlab)[^/]*\//i.test(authMount)) return 'ci';
  if (authMount && MACHINE_MOUNT.test(authMount)) return 'service';
  if (!authMount && displayName && /^(approle|kubernetes|aws|gcp|azure)(-|$)/i.test(displayName)) return 'service';
  return 'person';
}

async function originsOf(ctx: RuleContext, rows: AccessRow[]): Promise<(r: AccessRow) => TokenOrigin> {
  const issues = await ctx.issuingRequests(rows.filter((r) => r.token_id !== null).map((r) => r.token_id!));
  return (r) => tokenOrigin(r.auth_mount, r.display_name, r.token_id !== null ? issues.get(r.token_id) : undefined);
}

function readerPhrase(e: Evidence): string {
  return (e.facts?.display_name as string | null) ?? 'an unidentified token';
}

export const unattributedSecretAccess: Rule = {
  id: 'unattributed-secret-access',
  async detect(ctx) {
    const owners = ctx.settings.detections.path_owners ?? {};
    if (Object.keys(owners).length === 0) return [];
    const ownerOf = ownerMatcher(owners);
    const paths = (await ctx.distinctSecretPaths()).filter((p) => ownerOf(p) !== null);
    const out: Evidence[] = [];
    const rows = (await ctx.secretAccessesTo(paths)).filter((r) => r.attribution === 'none');
    const origin = await originsOf(ctx, rows);
    for (const r of rows) {
      // A CI job whose job could not be named is not "outside CI": the correlator reports those.
      if (origin(r) === 'ci') continue;
      const token = tokenSubject(r.token_accessor, r.token_id) ?? `address:${r.remote_address ?? 'unknown'}`;
      out.push({
        subject: `${token} path:${r.path}`,
        time_key: r.time_key,
        request_id: r.request_id,
        user_login: r.user_login,
        path: r.path,
        lease_id: r.lease_id,
        facts: { owner: ownerOf(r.path!), display_name: r.display_name, address: r.remote_address },
      });
    }
    return out;
  },
  describe(group) {
    const e = group.first;
    return `${readerPhrase(e)} read ${e.path} (owned by ${e.facts!.owner}) with a token tied to no CI job${group.count > 1 ? ` (${group.count} times)` : ''}${e.facts!.address ? ` from ${e.facts!.address}` : ''}; confirm the need or move the access into CI.`;
  },
};

export const offHoursHumanAccess: Rule = {
  id: 'off-hours-human-access',
  async detect(ctx) {
    const isProd = globMatcher(ctx.settings.detections.production_paths ?? []);
    const inHours = businessHoursMatcher(ctx.settings.detections.business_hours);
    const paths = (await ctx.distinctSecretPaths()).filter(isProd);
    const out: Evidence[] = [];
    const rows = (await ctx.secretAccessesTo(paths)).filter((r) => r.attribution === 'none' && !inHours(keyMillis(r.time_key)));
    const origin = await originsOf(ctx, rows);
    for (const r of rows) {
      if (origin(r) !== 'person') continue;
      out.push({
        subject: tokenSubject(r.token_accessor, r.token_id) ?? `address:${r.remote_address ?? 'unknown'}`,
        time_key: r.time_key,
        request_id: r.request_id,
        user_login: r.user_login,
        path: r.path,
        lease_id: r.lease_id,
        facts: { display_name: r.display_name, address: r.remote_address },
      });
    }
    return out;
  },
  describe(group, ctx) {
    const e = group.first;
    const paths = [...new Set(group.items.map((i) => i.path))];
    const tz = ctx.settings.detections.business_hours.timezone || 'UTC';
    return `${readerPhrase(e)} read production secret${paths.length === 1 ? '' : 's'} ${paths.slice(0, 3).join(', ')} outside business hours (${group.count} read${group.count === 1 ? '' : 's'}, first at ${e.time_key.slice(0, 16).replace('T', ' ')} UTC, hours in ${tz}); confirm the reason with the person.`;
  },
};
