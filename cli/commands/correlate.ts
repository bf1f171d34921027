import type { Command } from 'commander';
import { runAction } from '../action.js';
import { parseSummaryFormat, writeSummary } from '../output.js';
import type { Config } from '../config.js';
import { correlate, type CorrelateSettings } from '../../correlate/index.js';

/** The correlator's settings from keytrail.yaml (`correlation`, `leases`, `roles`). */
export function correlateSettings(config: Config): CorrelateSettings {
  return {
    clockSkewSeconds: config.correlation.clock_skew_seconds,
    jobGraceSeconds: config.correlation.job_grace_seconds,
    defaultLeaseTtlSeconds: config.leases.default_ttl_seconds,
    ttlOverrides: config.leases.ttl_overrides,
    roles: config.roles,
  };
}

export function registerCorrelate(parent: Command): void {
  parent
    .command('correlate')
    .description('pair requests, build token and lease lineage, attribute each request to a GitLab job and verify it')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(
      runAction<{ format?: string }>(async (ctx, opts) => {
        const format = parseSummaryFormat(opts.format);
        const settings = correlateSettings(ctx.config());
        const handle = await ctx.openDb();
        const started = Date.now();
        const summary = await correlate(handle, settings);
        ctx.logger.debug({ ms: Date.now() - started, requests: summary.requests }, 'correlate done');
        writeSummary({ ...summary }, format);
      }),
    );
}
