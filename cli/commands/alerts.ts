import type { Command } from 'commander';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';
import type { Config } from '../config.js';
import { runAlerts, type AlertChannel, type AlertsResult, type DetectionSettings } from '../../reports/detect/index.js';
import type { RetryPolicy } from '../../reports/alerts/webhook.js';
import type { KeytrailDb } from '../../db/connection.js';
import { acquireRunLock } from '../run/lock.js';

/** The detection part of keytrail.yaml, as reports/ expects it. */
export function detectionSettings(config: Config): DetectionSettings {
  return { detections: config.detections, correlation: config.correlation };
}

/**
 * Webhook retry policy: defaults (3 attempts, 10 s timeout, 500 ms backoff doubling), overridable through
 * KEYTRAIL_WEBHOOK_ATTEMPTS, KEYTRAIL_WEBHOOK_TIMEOUT_MS and KEYTRAIL_WEBHOOK_BACKOFF_MS.
 */
export function retryFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<RetryPolicy> {
  const out: Partial<RetryPolicy> = {};
  const num = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`${name} must be a non-negative integer`);
    return Number(v);
  };
  const attempts = num('KEYTRAIL_WEBHOOK_ATTEMPTS');
  const timeoutMs = num('KEYTRAIL_WEBHOOK_TIMEOUT_MS');
  const backoffMs = num('KEYTRAIL_WEBHOOK_BACKOFF_MS');
  if (attempts !== undefined) out.attempts = Math.max(1, attempts);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  if (backoffMs !== undefined) out.backoffMs = backoffMs;
  return out;
}

function webhookFormat(value: unknown, where: string): 'generic' | 'slack' {
  const v = value ?? 'generic';
  if (v !== 'generic' && v !== 'slack') throw new UsageError(`${where} must be generic or slack (got "${String(v)}")`);
  return v;
}

/** Channels: stdout, the configured webhooks, and the one given on the command line. */
export function alertChannels(config: Config, stdout: { format: 'table' | 'json'; write(text: string): void }, extra?: { url: string; format: string }): AlertChannel[] {
  const channels: AlertChannel[] = [{ kind: 'stdout', format: stdout.format, write: stdout.write }];
  for (const [i, w] of (config.alerts?.webhooks ?? []).entries()) {
    if (!w || typeof w.url !== 'string') throw new UsageError(`config: alerts.webhooks[${i}] needs a url`);
    channels.push({ kind: 'webhook', url: w.url, format: webhookFormat(w.format, `alerts.webhooks[${i}].format`) });
  }
  if (extra) {
    try {
      new URL(extra.url);
    } catch {
      throw new UsageError(`--webhook is not a URL: ${extra.url}`);
    }
    channels.push({ kind: 'webhook', url: extra.url, format: webhookFormat(extra.format, '--webhook-format') });
  }
  return channels;
}

/**
 * Detection and delivery as `alerts` does them; `run` calls this too, so stdout is one channel for both.
 * Returns the exit code of CONTRACT.md (1 failed delivery, 3 high/critical delivered, 0).
 */
export async function alertsStep(
  handle: KeytrailDb,
  config: Config,
  opts: { format: 'table' | 'json'; write?: (text: string) => void; webhook?: { url: string; format: string }; logger?: AlertsLogger },
): Promise<AlertsResult> {
  const write = opts.write ?? ((text: string) => void process.stdout.write(text));
  const result = await runAlerts(handle, detectionSettings(config), {
    channels: alertChannels(config, { format: opts.format, write }, opts.webhook),
    retry: retryFromEnv(),
    logger: opts.logger,
  });
  // One line per failing channel: the first error says why, the count says how much waits for the next run.
  const failedByChannel = new Map<string, { failed: number; error: string | null }>();
  for (const d of result.delivery.deliveries) {
    if (d.ok) continue;
    const entry = failedByChannel.get(d.channel) ?? { failed: 0, error: d.error };
    entry.failed++;
    failedByChannel.set(d.channel, entry);
  }
  for (const [channel, f] of failedByChannel) opts.logger?.error({ channel, failed: f.failed, error: f.error }, 'alert delivery failed; pending deliveries are retried on the next run');
  return result;
}

interface AlertsLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function registerAlerts(parent: Command): void {
  parent
    .command('alerts')
    .description('run the detectors and deliver each new, re-opened or escalated finding once per channel')
    .option('--webhook <url>', 'also deliver to this webhook')
    .option('--webhook-format <format>', 'generic or slack', 'generic')
    .option('--format <format>', 'table or json (one line per delivery)', 'table')
    .action(
      runAction<{ webhook?: string; webhookFormat: string; format: string }>(async (ctx, opts) => {
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format must be table or json (got "${opts.format}")`);
        webhookFormat(opts.webhookFormat, '--webhook-format');
        const config = ctx.config();
        // The run lock: an `alerts` overlapping a nightly `run` could otherwise deliver the same event twice.
        const lock = acquireRunLock(ctx.dbPath);
        let result: AlertsResult;
        try {
          const handle = await ctx.openDb();
          result = await alertsStep(handle, config, {
            format: opts.format,
            webhook: opts.webhook ? { url: opts.webhook, format: opts.webhookFormat } : undefined,
            logger: ctx.logger,
          });
        } finally {
          lock.release();
        }
        const d = result.detection;
        ctx.logger.info(
          { evaluated: d.evaluated, findings: d.findings, new: d.new, reopened: d.reopened, escalated: d.escalated, delivered: result.delivery.delivered, failed: result.delivery.failed, ms: d.duration_ms },
          'alerts done',
        );
        const printed = result.delivery.deliveries.some((x) => x.channel === 'stdout');
        if (opts.format === 'table' && !printed) process.stdout.write('No new findings.\n');
        return result.exitCode;
      }),
    );
}
