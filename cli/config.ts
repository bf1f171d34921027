import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, resolve, isAbsolute } from 'node:path';
import { createRequire } from 'node:module';
import { UsageError } from '../db/errors.js';

/** The YAML parser is loaded only when there is a file to parse: it was ~40 ms of every command's start-up. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/** keytrail.yaml, with every default applied (CONTRACT.md "Configuration"). */
export interface DeviceSource {
  name: string;
  /** Globs, resolved against the config file's directory. */
  paths: string[];
  prefix?: string;
}

export interface RuleSettings {
  enabled?: boolean;
  severity?: 'low' | 'medium' | 'high' | 'critical';
}

export interface MuteEntry {
  rule: string;
  match: Record<string, string | number>;
  reason: string;
  owner: string;
  expires?: string;
}

export interface Config {
  vault: { devices: DeviceSource[]; server_logs: string[] };
  gitlab: { url?: string; projects: (string | number)[]; groups: string[]; include_subgroups: boolean; concurrency: number };
  roles: Record<string, string>;
  correlation: { clock_skew_seconds: number; job_grace_seconds: number };
  leases: { default_ttl_seconds: number; ttl_overrides: Record<string, number> };
  detections: {
    production_paths: string[];
    path_owners: Record<string, string>;
    runner_cidrs: string[];
    business_hours: { timezone: string; days: string[]; start: string; end: string };
    max_token_ttl_seconds: number;
    audit_gap_minutes: number;
    thresholds: Record<string, { count: number; window_seconds: number }>;
    rules: Record<string, RuleSettings>;
    mute: MuteEntry[];
  };
  alerts: { webhooks: { url: string; format: 'generic' | 'slack' }[] };
  report: { schedule?: 'monthly' | 'quarterly'; out_dir: string; sample_size: number };
  signing: { private_key_file?: string };
  /** The file it was read from (absent for defaults) and the SHA-256 of its bytes. */
  source?: { path: string; sha256: string };
}

export function defaultConfig(): Config {
  return {
    vault: { devices: [], server_logs: [] },
    gitlab: { projects: [], groups: [], include_subgroups: false, concurrency: 4 },
    roles: {},
    correlation: { clock_skew_seconds: 60, job_grace_seconds: 300 },
    leases: { default_ttl_seconds: 2_764_800, ttl_overrides: {} },
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
    alerts: { webhooks: [] },
    report: { out_dir: './packs', sample_size: 25 },
    signing: {},
  };
}

/** Default threshold of the burst and enumeration rules. */
export const DEFAULT_THRESHOLD = { count: 10, window_seconds: 300 } as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
function merge<T>(base: T, over: unknown, where: string): T {
  if (over === undefined || over === null) return base;
  if (!isObject(base)) return over as T;
  if (!isObject(over)) throw new UsageError(`config: ${where || 'top level'} must be a mapping`);
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObject(b) && Object.keys(b).length > 0 ? merge(b, v, where ? `${where}.${k}` : k) : v;
  }
  return out as T;
}

function resolvePath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/**
 * Loads keytrail.yaml. `explicit` is the --config value: a missing explicit file is a usage error; without
 * it, ./keytrail.yaml is read when present. Relative paths in the file are resolved against its directory.
 */
export function loadConfig(explicit: string | undefined, cwd = process.cwd()): Config {
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, 'keytrail.yaml');
  if (!existsSync(path)) {
    if (explicit) throw new UsageError(`config file not found: ${explicit}`);
    return defaultConfig();
  }
  const bytes = readFileSync(path);
  let parsed: unknown;
  try {
    parsed = parseYaml(bytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(`config ${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const config = merge(defaultConfig(), parsed ?? {}, '');
  const dir = dirname(path);
  config.vault.devices = (config.vault.devices ?? []).map((d, i) => {
    if (!d || typeof d.name !== 'string') throw new UsageError(`config: vault.devices[${i}] needs a name`);
    return { ...d, paths: (d.paths ?? []).map((p) => resolvePath(dir, String(p))) };
  });
  config.vault.server_logs = (config.vault.server_logs ?? []).map((p) => resolvePath(dir, String(p)));
  config.report.out_dir = resolvePath(dir, config.report.out_dir);
  if (config.signing.private_key_file) config.signing.private_key_file = resolvePath(dir, config.signing.private_key_file);
  for (const [i, m] of (config.detections.mute ?? []).entries()) {
    if (!m || !m.rule || !m.reason || !m.owner) {
      throw new UsageError(`config: detections.mute[${i}] needs rule, reason and owner`);
    }
  }
  if (config.report.schedule && !['monthly', 'quarterly'].includes(config.report.schedule)) {
    throw new UsageError('config: report.schedule must be monthly or quarterly');
  }
  config.source = { path, sha256: createHash('sha256').update(bytes).digest('hex') };
  return config;
}
