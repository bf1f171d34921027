/**
 * The nightly job (`keytrail run`, and the demo): every configured Vault source, the GitLab sync and its
 * targeted job lookups, correlate, alerts and the evidence pack when one is due — as steps that report
 * their own summary. This is wiring only: each step calls a module's API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { KeytrailDb } from '../../db/index.js';
import { KeytrailError } from '../../db/errors.js';
import { ingestVaultFiles, ingestServerLogs } from '../../ingest/index.js';
import { createGitlabClient, gitlabAuthFromEnv, syncGitlab, syncJobsFromAudit, tokenProblem, GitlabAuthError } from '../../ingest/gitlab/index.js';
import { correlate } from '../../correlate/index.js';
import { writeSoc2Pack } from '../../reports/index.js';
import { correlateSettings } from '../commands/correlate.js';
import { alertsStep } from '../commands/alerts.js';
import { TOOL_VERSION } from '../version.js';
import { expandGlob } from './glob.js';
import { previousPeriod, type Period } from './period.js';
import { runSteps, type Step, type StepResult } from './steps.js';

export interface NightlyOptions {
  config: Config;
  logger: Logger;
  /** Force the pack of this period (`--report-period`). */
  reportPeriod?: Period;
  /** Alerts on stdout: `json` prints one line per delivery. */
  alertFormat: 'table' | 'json';
  /** Where stdout alert deliveries go (default process.stdout). */
  write?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  now?: Date;
  /** Fixed pack generation time (demo and tests: reproducible packs). */
  generatedAt?: string;
}

export interface NightlyResult {
  steps: StepResult[];
  /** CONTRACT.md: 1 when a step failed or a delivery failed (wins), 3 when a high/critical finding was delivered. */
  exitCode: 0 | 1 | 3;
  packDir?: string;
}

function filesOf(globs: string[]): string[] {
  return [...new Set(globs.flatMap((g) => expandGlob(g)))];
}

export async function runNightly(handle: KeytrailDb, opts: NightlyOptions): Promise<NightlyResult> {
  const { config, logger } = opts;
  const env = opts.env ?? process.env;
  let alertsExit: 0 | 1 | 3 = 0;
  let packDir: string | undefined;

  const steps: Step[] = [
    {
      name: 'ingest-vault',
      run: async () => {
        if (config.vault.devices.length === 0) return null;
        const totals = { devices: 0, files: 0, lines: 0, bytes: 0, stored: 0, duplicates: 0, quarantined: 0 };
        for (const device of config.vault.devices) {
          const files = filesOf(device.paths);
          if (files.length === 0) {
            logger.warn({ device: device.name, paths: device.paths }, 'no audit files match this device');
            continue;
          }
          const s = await ingestVaultFiles(handle, files, { device: device.name, prefix: device.prefix, logger });
          totals.devices++;
          totals.files += s.files;
          totals.lines += s.lines;
          totals.bytes += s.bytes;
          totals.stored += s.stored;
          totals.duplicates += s.duplicates;
          totals.quarantined += s.quarantined;
        }
        return totals;
      },
    },
    {
      name: 'ingest-server-log',
      run: async () => {
        if (config.vault.server_logs.length === 0) return null;
        const files = filesOf(config.vault.server_logs);
        if (files.length === 0) return { files: 0, lines: 0, stored: 0, ignored: 0, quarantined: 0 };
        const s = await ingestServerLogs(handle, files, { logger });
        return { files: s.files, lines: s.lines, bytes: s.bytes, stored: s.stored, ignored: s.ignored, quarantined: s.quarantined };
      },
    },
    {
      name: 'gitlab',
      run: async () => {
        const { url, projects, groups, include_subgroups, concurrency } = config.gitlab;
        if (!url) return null;
        const auth = gitlabAuthFromEnv(env);
        if (!auth) throw new KeytrailError(tokenProblem(undefined));
        const client = createGitlabClient({ url, auth: auth.auth, concurrency, logger });
        const total = { projects: 0, pipelines: 0, jobs: 0, requests: 0, skipped: 0 };
        const add = (s: typeof total) => {
          total.projects += s.projects;
          total.pipelines += s.pipelines;
          total.jobs += s.jobs;
          total.requests += s.requests;
          total.skipped += s.skipped;
        };
        try {
          if (projects.length > 0) add(await syncGitlab(handle.db, client, { projects, concurrency, logger }));
          for (const group of groups) {
            add(await syncGitlab(handle.db, client, { group: { path: group, includeSubgroups: include_subgroups }, concurrency, logger }));
          }
          // The jobs Vault names that the listings did not bring (forks, unlisted projects).
          add(await syncJobsFromAudit(handle.db, client, { concurrency, roles: config.roles, logger }));
        } catch (err) {
          if (err instanceof GitlabAuthError) throw new KeytrailError(tokenProblem(auth.variable));
          throw err;
        }
        if (total.skipped > 0) throw new KeytrailError(`GitLab sync skipped ${total.skipped} item(s); the next run asks again`);
        return total;
      },
    },
    {
      name: 'correlate',
      run: async () => ({ ...(await correlate(handle, correlateSettings(config))) }),
    },
    {
      name: 'alerts',
      dependsOn: ['correlate'],
      run: async () => {
        const result = await alertsStep(handle, config, { format: opts.alertFormat, write: opts.write, logger });
        alertsExit = result.exitCode;
        const d = result.detection;
        return {
          findings: d.findings,
          new: d.new,
          reopened: d.reopened,
          escalated: d.escalated,
          delivered: result.delivery.delivered,
          failed: result.delivery.failed,
        };
      },
    },
    {
      name: 'report',
      dependsOn: ['correlate'],
      run: async () => {
        const period = opts.reportPeriod ?? (await duePeriod(handle, config, opts.now ?? new Date()));
        if (!period) return null;
        let privateKeyPem: string | undefined;
        if (config.signing.private_key_file) {
          try {
            privateKeyPem = readFileSync(config.signing.private_key_file, 'utf8');
          } catch (err) {
            throw new KeytrailError(`cannot read signing.private_key_file ${config.signing.private_key_file}: ${(err as Error).message}`);
          }
        }
        const outDir = join(config.report.out_dir, period.name);
        const r = await writeSoc2Pack(handle, {
          from: period.from,
          to: period.to,
          outDir,
          sampleSize: config.report.sample_size,
          generatedAt: opts.generatedAt,
          config,
          privateKeyPem,
          toolVersion: TOOL_VERSION,
        });
        packDir = r.outDir;
        return { period: period.name, out_dir: r.outDir, zip: r.zipPath, manifest_sha256: r.manifestSha256, signed: r.signed, rows: r.rowCounts };
      },
    },
  ];

  const results = await runSteps(steps, logger);
  const failedStep = results.some((r) => r.status === 'failed');
  const alertsCode = alertsExit as 0 | 1 | 3; // assigned inside the alerts step
  const exitCode: 0 | 1 | 3 = failedStep || alertsCode === 1 ? 1 : alertsCode;
  return { steps: results, exitCode, packDir };
}

/**
 * With `report.schedule`, the previous period's pack is due once: on the first run after the period ends,
 * when this database has not recorded a pack for exactly that period.
 */
export async function duePeriod(handle: KeytrailDb, config: Config, now: Date): Promise<Period | undefined> {
  if (!config.report.schedule) return undefined;
  const period = previousPeriod(config.report.schedule, now);
  const done = await handle.db
    .selectFrom('packs')
    .select('id')
    .where('period_from', '=', period.from)
    .where('period_to', '=', period.to)
    .executeTakeFirst();
  return done ? undefined : period;
}
