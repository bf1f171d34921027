import type { Command } from 'commander';
import { runAction } from '../action.js';
import { parseSummaryFormat } from '../output.js';
import { acquireRunLock } from '../run/lock.js';
import { parsePeriod } from '../run/period.js';

export function registerRun(parent: Command): void {
  parent
    .command('run')
    .description('the nightly job: ingest, GitLab sync, correlate, alerts and the evidence pack when due, from keytrail.yaml')
    .option('--report-period <period>', 'force the pack of a period: 2026-03 or 2026-Q1')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(
      runAction<{ reportPeriod?: string; format: string }>(async (ctx, opts) => {
        const format = parseSummaryFormat(opts.format);
        const reportPeriod = opts.reportPeriod ? parsePeriod(opts.reportPeriod) : undefined;
        const config = ctx.config();
        if (!config.source) {
          ctx.logger.warn('no keytrail.yaml here (and no --config): no sources to read; write one with `keytrail init`');
        }
        const lock = acquireRunLock(ctx.dbPath);
        try {
          const handle = await ctx.openDb();
          const { runNightly } = await import('../run/nightly.js');
          const result = await runNightly(handle, { config, logger: ctx.logger, reportPeriod, alertFormat: format });
          if (format === 'json') {
            process.stdout.write(JSON.stringify({ steps: result.steps }) + '\n');
          } else {
            const width = Math.max(...result.steps.map((s) => s.name.length));
            process.stdout.write('\nrun summary\n');
            for (const s of result.steps) {
              const detail = Object.entries(s.summary)
                .filter(([, v]) => typeof v !== 'object' || v === null)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(' ');
              process.stdout.write(`  ${s.name.padEnd(width)}  ${s.status.padEnd(7)}  ${detail}\n`);
            }
          }
          return result.exitCode;
        } finally {
          lock.release();
        }
      }),
    );
}
