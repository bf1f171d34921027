import { stringify } from 'yaml';
import { GITLAB_URL, type Organisation } from './org.js';

/** The two audit devices every node has (same salt on both nodes of a device). */
export const DEVICE_NAMES = ['file-audit', 'socket-audit'] as const;

/** keytrail.yaml for the simulated organisation (keys as CONTRACT.md "Configuration"; paths relative to the file). */
export function keytrailYaml(org: Organisation, o: { rawDevice: string | null }): string {
  const devices: { name: string; paths: string[] }[] = DEVICE_NAMES.map((name) => ({ name, paths: [`vault/*/${name}/audit.log*`] }));
  if (o.rawDevice) devices.push({ name: o.rawDevice, paths: [`vault/*/${o.rawDevice}/audit.log*`] });
  const roles: Record<string, string> = {};
  const pathOwners: Record<string, string> = {};
  const ttl: Record<string, number> = {};
  for (const p of org.projects) {
    for (const role of [p.roles.ci, p.roles.deploy]) if (!role.claimMappings) roles[role.name] = p.fullPath;
    pathOwners[`kv/data/${p.slug}/**`] = p.fullPath;
    if (p.hasDb) {
      pathOwners[`database/creds/${p.slug}-*`] = p.fullPath;
      ttl[`database/creds/${p.slug}-ci`] = 3600;
      ttl[`database/creds/${p.slug}-prod`] = 1800;
    }
  }
  const config = {
    vault: { devices, server_logs: ['vault/*/server.log'] },
    gitlab: { url: GITLAB_URL, projects: [org.fork.fullPath], groups: [org.groups[0]!.full_path], include_subgroups: true, concurrency: 4 },
    roles,
    correlation: { clock_skew_seconds: 60, job_grace_seconds: 300 },
    leases: { default_ttl_seconds: 2_764_800, ttl_overrides: ttl },
    detections: {
      production_paths: ['kv/data/*/production/**', 'database/creds/*-prod'],
      path_owners: pathOwners,
      runner_cidrs: [...new Set(org.runners.map((r) => r.cidr))],
      business_hours: { timezone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' },
      max_token_ttl_seconds: 90_000,
      audit_gap_minutes: 60,
    },
    // No report.schedule: the simulated period is in the past; use `run --report-period 2026-03` or `report soc2`.
    report: { out_dir: './packs', sample_size: 25 },
  };
  const header = [
    '# keytrail.yaml written by `keytrail simulate` for the simulated Acme organisation.',
    '# Paths are relative to this file. gitlab.url is a placeholder: point it at the fake GitLab server',
    '# (the demo does) and pass the token from gitlab/server.json through GITLAB_TOKEN.',
    '',
  ].join('\n');
  return header + stringify(config, { lineWidth: 0 });
}

/**
 * The Vault JWT roles of the organisation, as `vault write auth/jwt/role/<name>` bodies (the shape of the
 * GitLab docs' examples), keyed by role name: what an operator would review next to the audit trail.
 */
export function jwtRoles(org: Organisation): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const mappings = ['job_id', 'job_project_id', 'job_project_path', 'namespace_path', 'pipeline_id', 'pipeline_source', 'project_id', 'project_path', 'ref', 'ref_protected', 'ref_type', 'user_login'];
  for (const p of org.projects) {
    for (const [kind, role] of [['ci', p.roles.ci], ['deploy', p.roles.deploy]] as const) {
      const body: Record<string, unknown> = {
        role_type: 'jwt',
        policies: role.policies.filter((x) => x !== 'default'),
        token_type: role.tokenType,
        token_explicit_max_ttl: role.tokenTtl,
        user_claim: role.userClaim,
        bound_audiences: 'https://vault.acme.example',
        bound_claims: kind === 'deploy' ? { project_id: String(p.id), ref_protected: 'true' } : { project_id: String(p.id) },
      };
      if (role.claimMappings) body.claim_mappings = Object.fromEntries(mappings.map((m) => [m, m]));
      out[role.name] = body;
    }
  }
  return out;
}
