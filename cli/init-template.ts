/** The commented keytrail.yaml that `keytrail init` writes: every key of CONTRACT.md with its default. */
export const CONFIG_TEMPLATE = `# keytrail configuration. Paths are relative to this file.
# Every key is optional; the values shown are the defaults unless marked "example".

vault:
  # Audit devices read by \`keytrail run\`. name: device name; paths: globs (rotations included);
  # prefix: the device's \`prefix\` option, if it has one.
  devices: []
  #  - name: file-audit            # example
  #    paths: ["/var/log/vault/audit.log*"]
  #    prefix: ""
  # Vault server (operational) logs: lease expiry lines are the only record of TTL revocations.
  server_logs: []
  #  - /var/log/vault/server.log   # example

gitlab:
  # url: https://gitlab.example.com   # the token comes from GITLAB_TOKEN or GITLAB_OAUTH_TOKEN, never from here
  projects: []          # ids or paths, e.g. [acme/payments-api, 42]
  groups: []            # group paths; every project in them is synced
  include_subgroups: false
  concurrency: 4        # parallel requests to GitLab

# The GitLab project each Vault JWT role serves: used to attribute requests when the role has no
# claim_mappings (heuristic attribution).
roles: {}
#  payments-ci: acme/payments-api   # example

correlation:
  clock_skew_seconds: 60     # tolerance between Vault and GitLab clocks
  job_grace_seconds: 300     # how long after a job ends its credentials may live

leases:
  default_ttl_seconds: 2764800   # Vault's default max lease TTL (32 days); TTLs are not in the audit log
  ttl_overrides: {}              # per mount/role prefix, e.g. {"database/creds/ci-": 3600}

detections:
  production_paths: []       # globs of production secrets, e.g. ["kv/data/prod/**"]
  path_owners: {}            # glob -> project path, e.g. {"kv/data/payments/**": acme/payments-api}
  runner_cidrs: []           # runner address ranges; empty disables unexpected-source-ip
  business_hours:
    timezone: UTC
    days: [mon, tue, wed, thu, fri]
    start: "08:00"
    end: "18:00"
  max_token_ttl_seconds: 90000   # token-ttl-excessive
  audit_gap_minutes: 60          # audit-gap
  thresholds: {}             # per rule: {count, window_seconds}; default 10 in 300 s
  #  permission-denied-burst: {count: 10, window_seconds: 300}
  #  login-failure-burst: {count: 10, window_seconds: 300}
  #  secret-enumeration: {count: 10, window_seconds: 300}
  rules: {}                  # per rule: {enabled, severity}; every rule is on at its catalogued severity
  #  off-hours-human-access: {enabled: false}
  mute: []                   # reason and owner are required; expires is optional
  #  - rule: token-multi-ip
  #    match: {path: "kv/data/shared/**"}
  #    reason: "shared runner pool NATs through two addresses"
  #    owner: security@example.com
  #    expires: 2026-12-31

alerts:
  webhooks: []               # [{url, format: generic|slack}]

report:
  # schedule: monthly        # monthly or quarterly: \`keytrail run\` writes the previous period's pack once
  out_dir: ./packs           # packs go to out_dir/<period>/
  sample_size: 25

signing: {}
#  private_key_file: ./keytrail-signing.key   # written by \`keytrail keygen --out keytrail-signing\`
`;
