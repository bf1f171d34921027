/**
 * The detection catalogue (issue #5, reference/peers-and-soc2.md §2). Rule ids are part of the external
 * contract; titles, severities and remediation are what a person reads in alerts and evidence packs.
 */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

export function isSeverity(v: unknown): v is Severity {
  return typeof v === 'string' && v in SEVERITY_RANK;
}

export interface RuleInfo {
  id: RuleId;
  title: string;
  severity: Severity;
  /** What the finding's `subject` names. */
  subject: string;
  description: string;
  remediation: string;
  /** SOC 2 Trust Services Criteria the rule's results evidence. */
  soc2: string[];
}

export const RULE_IDS = [
  'root-token-used',
  'root-token-generated',
  'audit-device-changed',
  'audit-gap',
  'raw-audit-logging',
  'policy-changed',
  'auth-method-changed',
  'jwt-role-changed',
  'mount-changed',
  'token-ttl-excessive',
  'orphan-token-created',
  'permission-denied-burst',
  'login-failure-burst',
  'secret-enumeration',
  'unexpected-source-ip',
  'token-multi-ip',
  'token-used-after-job',
  'lease-outlived-job',
  'cross-project-access',
  'unprotected-ref-prod-secret',
  'untrusted-pipeline-source',
  'job-not-found',
  'claims-mismatch',
  'unattributed-secret-access',
  'off-hours-human-access',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export function isRuleId(v: string): v is RuleId {
  return (RULE_IDS as readonly string[]).includes(v);
}

const list: RuleInfo[] = [
  {
    id: 'root-token-used',
    title: 'Root token used',
    severity: 'high',
    subject: 'token accessor',
    description: 'A request was made with a token that carries the root policy (or the root display name).',
    remediation:
      'Find who held the root token and why; revoke it (vault token revoke) and use a scoped policy instead. Root tokens should only exist during break-glass and be revoked right after.',
    soc2: ['CC6.1', 'CC6.3'],
  },
  {
    id: 'root-token-generated',
    title: 'Root token generation',
    severity: 'critical',
    subject: 'request id',
    description: 'sys/generate-root was started, updated or cancelled, or a token with the root policy was created.',
    remediation:
      'Confirm the root generation was an approved break-glass procedure with the unseal/recovery key holders; revoke the resulting root token as soon as the task is done.',
    soc2: ['CC6.1', 'CC7.2'],
  },
  {
    id: 'audit-device-changed',
    title: 'Audit device changed',
    severity: 'critical',
    subject: 'audit device path or audited header',
    description:
      'An audit device was enabled, disabled or changed (sys/audit/*), or the audited request headers were changed. Disabling a device loses its HMAC salt and can blind monitoring.',
    remediation:
      'Confirm the change was approved; re-enable the device if it was disabled, and make sure every device still ships to keytrail.',
    soc2: ['CC7.1', 'CC7.2', 'CC4.1'],
  },
  {
    id: 'audit-gap',
    title: 'Audit log gap',
    severity: 'high',
    subject: 'audit device',
    description:
      "An audit device was silent for longer than detections.audit_gap_minutes while other devices kept logging, or its batches' hash chain is broken.",
    remediation:
      'Check the device (disk full, blocked socket, rotation without SIGHUP, log shipper down) and re-ingest the missing files; a broken hash chain means stored evidence was altered or lost and must be investigated.',
    soc2: ['CC4.1', 'CC7.2', 'CC2.1'],
  },
  {
    id: 'raw-audit-logging',
    title: 'Audit device logs secrets in clear (log_raw)',
    severity: 'high',
    subject: 'audit device',
    description: 'An audit device writes tokens and secret values without HMAC (log_raw=true). keytrail redacts them before storage.',
    remediation:
      'Disable log_raw on the device (re-enable it without log_raw), rotate every credential that appeared in its files, and restrict access to the files already written.',
    soc2: ['CC6.1', 'CC6.7'],
  },
  {
    id: 'policy-changed',
    title: 'ACL policy written or deleted',
    severity: 'medium',
    subject: 'policy',
    description: 'An ACL policy was created, updated or deleted (sys/policy/*, sys/policies/acl/*).',
    remediation: 'Tie the change to an approved merge request or change ticket; revert it if nobody can.',
    soc2: ['CC7.1', 'CC8.1'],
  },
  {
    id: 'auth-method-changed',
    title: 'Auth method enabled, disabled or tuned',
    severity: 'high',
    subject: 'auth mount',
    description: 'An auth method was enabled, disabled or tuned (sys/auth/*).',
    remediation: 'Confirm the change was approved; an unexpected auth method is a way in, a disabled one may break CI.',
    soc2: ['CC6.1', 'CC7.1', 'CC8.1'],
  },
  {
    id: 'jwt-role-changed',
    title: 'JWT/OIDC role or config changed',
    severity: 'high',
    subject: 'role',
    description:
      "A JWT/OIDC auth role or the mount's config was written or deleted; bound claims, audiences and TTLs decide which pipelines can obtain which policies.",
    remediation:
      'Review the role diff: bound_claims (project_id, ref, ref_protected), bound_audiences, token policies and TTLs. Revert weakened bindings.',
    soc2: ['CC6.1', 'CC7.1', 'CC8.1'],
  },
  {
    id: 'mount-changed',
    title: 'Secrets engine mounted, unmounted or tuned',
    severity: 'medium',
    subject: 'mount',
    description: 'A secrets engine was mounted, unmounted, moved or tuned (including audit_non_hmac_* keys that expose values).',
    remediation: 'Confirm the change was approved; check tuned audit_non_hmac_* keys do not expose secret values.',
    soc2: ['CC7.1', 'CC8.1'],
  },
  {
    id: 'token-ttl-excessive',
    title: 'Token issued with excessive TTL',
    severity: 'medium',
    subject: 'token accessor',
    description: 'A token was issued with a TTL above detections.max_token_ttl_seconds.',
    remediation: 'Lower token_ttl/token_max_ttl on the role or the token create call; revoke the long-lived token if it is not needed.',
    soc2: ['CC6.2', 'CC6.3'],
  },
  {
    id: 'orphan-token-created',
    title: 'Orphan or non-expiring token created',
    severity: 'high',
    subject: 'token accessor',
    description:
      'A token was created without a parent (auth/token/create-orphan, no_parent) or without expiry: it survives the revocation of whoever created it.',
    remediation: 'Revoke the token unless it is a documented service credential; prefer periodic tokens with a bounded TTL.',
    soc2: ['CC6.2', 'CC6.3'],
  },
  {
    id: 'permission-denied-burst',
    title: 'Burst of permission-denied requests',
    severity: 'medium',
    subject: 'token, entity or address',
    description: 'At least `count` requests were denied within `window_seconds` for one token, entity or address.',
    remediation:
      'Find out what the caller was trying to reach: a misconfigured pipeline, or someone probing paths. Revoke the token if it is not explained.',
    soc2: ['CC6.6', 'CC7.2'],
  },
  {
    id: 'login-failure-burst',
    title: 'Burst of failed logins',
    severity: 'medium',
    subject: 'address or role',
    description: 'At least `count` logins failed within `window_seconds` from one address or for one role.',
    remediation: 'Check for replayed or forged JWTs, a broken bound_claims change, or password guessing; block the address if hostile.',
    soc2: ['CC6.6', 'CC7.2'],
  },
  {
    id: 'secret-enumeration',
    title: 'Secret enumeration',
    severity: 'medium',
    subject: 'token accessor',
    description: 'A token listed secrets and then read at least `count` distinct secret paths within `window_seconds`.',
    remediation: 'Confirm the job or person needed all those secrets; narrow the policy to the paths it needs and rotate what was read if not.',
    soc2: ['CC6.3', 'CC7.2'],
  },
  {
    id: 'unexpected-source-ip',
    title: 'CI token used from outside the runner networks',
    severity: 'high',
    subject: 'token accessor',
    description: 'A request attributed to a CI job came from an address outside detections.runner_cidrs.',
    remediation:
      "Treat the token as leaked: revoke it, rotate the secrets it read, and bind the role to the runners' addresses (token_bound_cidrs).",
    soc2: ['CC6.6', 'CC6.7'],
  },
  {
    id: 'token-multi-ip',
    title: 'Token used from several addresses',
    severity: 'medium',
    subject: 'token accessor',
    description: 'One token was used from more than one remote address.',
    remediation: 'A job token normally stays on its runner: check whether it was copied elsewhere, and revoke it if so.',
    soc2: ['CC6.6'],
  },
  {
    id: 'token-used-after-job',
    title: "Job token used after the job finished",
    severity: 'high',
    subject: 'token accessor',
    description: "A request was made with a job's token after the job finished (plus correlation.job_grace_seconds).",
    remediation:
      'Revoke the token and find who or what used it: a job token outliving its job is a leaked credential. Give the role a short token_explicit_max_ttl and revoke at job end.',
    soc2: ['CC6.2', 'CC6.3', 'CC7.2'],
  },
  {
    id: 'lease-outlived-job',
    title: 'Lease or token outlived its job',
    severity: 'medium',
    subject: 'lease id or token accessor',
    description: "A lease or token issued to a job ended (or will end) after the job's finish plus the grace period.",
    remediation: 'Revoke leases and tokens at the end of the job (after_script: vault token revoke -self) and shorten the role TTLs.',
    soc2: ['CC6.2', 'CC6.3'],
  },
  {
    id: 'cross-project-access',
    title: "Job read another project's secret",
    severity: 'high',
    subject: 'job and path',
    description: 'A job read a path that detections.path_owners assigns to a different project.',
    remediation: "Narrow the role's policies so each project's jobs can only read that project's paths; rotate the secret if the read was not expected.",
    soc2: ['CC6.3', 'CC6.7'],
  },
  {
    id: 'unprotected-ref-prod-secret',
    title: 'Unprotected ref read a production secret',
    severity: 'high',
    subject: 'job and path',
    description: 'A job running on an unprotected branch or tag read a path listed in detections.production_paths.',
    remediation: 'Bind production roles to ref_protected=true (bound_claims) and rotate the secret: anyone who can push a branch could have read it.',
    soc2: ['CC6.3', 'CC6.8'],
  },
  {
    id: 'untrusted-pipeline-source',
    title: 'Untrusted pipeline read a production secret',
    severity: 'high',
    subject: 'job and path',
    description:
      'A pipeline started from a fork merge request, the API, a trigger token or the web UI read a path listed in detections.production_paths.',
    remediation: 'Bind production roles to trusted pipeline sources and protected refs; review who started the pipeline and rotate the secret if unexpected.',
    soc2: ['CC6.3', 'CC6.7', 'CC6.8'],
  },
  {
    id: 'job-not-found',
    title: 'Job named in token claims unknown to GitLab',
    severity: 'high',
    subject: 'job id',
    description: 'A token claimed a GitLab job id that GitLab does not know after a targeted lookup: a forged or replayed token, or another GitLab instance.',
    remediation: 'Check the JWT issuer and bound_issuer of the role; revoke the tokens and rotate what they read.',
    soc2: ['CC6.2', 'CC7.2'],
  },
  {
    id: 'claims-mismatch',
    title: 'GitLab contradicts the token claims',
    severity: 'critical',
    subject: 'token accessor',
    description:
      "GitLab contradicts a token's claims (job of another project, pipeline, user or ref, or a request before the job started). A request after the job finished is token-used-after-job; an unknown job is job-not-found.",
    remediation: 'Treat the token as forged or misused: revoke it, rotate what it read, and check the role bindings and JWT issuer.',
    soc2: ['CC6.2', 'CC7.2'],
  },
  {
    id: 'unattributed-secret-access',
    title: 'Owned secret read outside CI',
    severity: 'medium',
    subject: 'token accessor and path',
    description:
      'A path that detections.path_owners assigns to a project was read by a token tied to no job (human, static or root token; a CI JWT login whose job could not be named is not counted).',
    remediation: 'Confirm the person or system needed it; move static credentials to CI job tokens or record the exception.',
    soc2: ['CC6.2', 'CC6.3'],
  },
  {
    id: 'off-hours-human-access',
    title: 'Human read a production secret outside business hours',
    severity: 'low',
    subject: 'token accessor',
    description:
      'A person read a production path outside detections.business_hours: a token tied to no job, not from a CI JWT login and not from a service login (AppRole, Kubernetes, cloud IAM, TLS certificate).',
    remediation: 'Confirm the access with the person (on-call, incident); record the reason.',
    soc2: ['CC6.3', 'CC7.2'],
  },
];

export const CATALOGUE: Record<RuleId, RuleInfo> = Object.fromEntries(list.map((r) => [r.id, r])) as Record<RuleId, RuleInfo>;
