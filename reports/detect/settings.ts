/**
 * What the detectors need from keytrail.yaml. Declared here (structurally the same as cli/config.ts) because
 * reports/ never reads configuration: the CLI passes `{detections, correlation}` of its Config.
 */
import { createHash } from 'node:crypto';
import { CATALOGUE, isSeverity, type RuleId, type Severity } from './catalogue.js';

export interface MuteSetting {
  rule: string;
  match?: Record<string, string | number>;
  reason: string;
  owner: string;
  /** `YYYY-MM-DD` (the mute holds through that UTC day) or an ISO time; YAML may hand over a Date. */
  expires?: string | Date;
}

export interface DetectionSettings {
  detections: {
    production_paths: string[];
    path_owners: Record<string, string>;
    runner_cidrs: string[];
    business_hours: { timezone: string; days: string[]; start: string; end: string };
    max_token_ttl_seconds: number;
    audit_gap_minutes: number;
    thresholds: Record<string, { count?: number; window_seconds?: number }>;
    rules: Record<string, { enabled?: boolean; severity?: string }>;
    mute: MuteSetting[];
  };
  correlation: { clock_skew_seconds: number; job_grace_seconds: number };
}

/** Default threshold of the burst and enumeration rules (same as cli/config.ts DEFAULT_THRESHOLD). */
export const DEFAULT_THRESHOLD = { count: 10, window_seconds: 300 } as const;

export function defaultDetectionSettings(): DetectionSettings {
  return {
    detections: {
      production_paths: [],
      path_owners: {},
      runner_cidrs: [],
      business_hours: { timezone: 'UTC', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' },
      max_token_ttl_seconds: 90_000,
      audit_gap_minutes: 60,
      thresholds: {},
      rules: {},
      mute: [],
    },
    correlation: { clock_skew_seconds: 60, job_grace_seconds: 300 },
  };
}

export function ruleEnabled(settings: DetectionSettings, rule: RuleId): boolean {
  return settings.detections.rules?.[rule]?.enabled !== false;
}

export function ruleSeverity(settings: DetectionSettings, rule: RuleId): Severity {
  const configured = settings.detections.rules?.[rule]?.severity;
  return isSeverity(configured) ? configured : CATALOGUE[rule].severity;
}

export function threshold(settings: DetectionSettings, rule: RuleId): { count: number; window_seconds: number } {
  const t = settings.detections.thresholds?.[rule] ?? {};
  return {
    count: Number.isFinite(t.count) && (t.count as number) > 0 ? (t.count as number) : DEFAULT_THRESHOLD.count,
    window_seconds:
      Number.isFinite(t.window_seconds) && (t.window_seconds as number) > 0 ? (t.window_seconds as number) : DEFAULT_THRESHOLD.window_seconds,
  };
}

/**
 * Hash of everything that changes what the detectors compute (mutes excluded: they are re-applied on every
 * run). Part of the incremental fingerprint, so a config change triggers a full evaluation.
 */
export function settingsHash(settings: DetectionSettings): string {
  const { mute: _mute, ...rest } = settings.detections;
  return createHash('sha256')
    .update(JSON.stringify({ rest, grace: settings.correlation.job_grace_seconds, skew: settings.correlation.clock_skew_seconds }))
    .digest('hex')
    .slice(0, 32);
}
