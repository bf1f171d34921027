/** What the correlator needs from keytrail.yaml (the CLI maps `correlation`, `leases` and `roles` into it). */
export interface CorrelateSettings {
  /** Tolerance between Vault and GitLab clocks (`correlation.clock_skew_seconds`). */
  clockSkewSeconds: number;
  /** How long after a job ends its credentials may live (`correlation.job_grace_seconds`). */
  jobGraceSeconds: number;
  /** Lease TTL when no override matches (`leases.default_ttl_seconds`). */
  defaultLeaseTtlSeconds: number;
  /** Per path-prefix lease TTLs (`leases.ttl_overrides`); the longest matching prefix wins. */
  ttlOverrides: Record<string, number>;
  /** Vault role → GitLab project path it serves (`roles`), for heuristic attribution. */
  roles: Record<string, string>;
}

export const DEFAULT_SETTINGS: CorrelateSettings = {
  clockSkewSeconds: 60,
  jobGraceSeconds: 300,
  defaultLeaseTtlSeconds: 2_764_800,
  ttlOverrides: {},
  roles: {},
};

/** The configured TTL of a lease: the longest `ttl_overrides` prefix of its id, else the default. */
export function leaseTtlFor(leaseId: string, settings: CorrelateSettings): number {
  let best = -1;
  let ttl = settings.defaultLeaseTtlSeconds;
  for (const [prefix, seconds] of Object.entries(settings.ttlOverrides)) {
    if (leaseId.startsWith(prefix) && prefix.length > best) {
      best = prefix.length;
      ttl = seconds;
    }
  }
  return ttl;
}

/** A stable fingerprint of the settings: when it changes, every derived row is re-evaluated. */
export function settingsFingerprint(settings: CorrelateSettings): string {
  const sorted = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({
    s: settings.clockSkewSeconds,
    g: settings.jobGraceSeconds,
    d: settings.defaultLeaseTtlSeconds,
    o: sorted(settings.ttlOverrides),
    r: sorted(settings.roles),
  });
}
