import type { Command } from 'commander';
import { resolve } from 'node:path';
import { intOption, runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';

interface SimulateOpts {
  out: string;
  seed: number;
  days: number;
  projects: number;
  jobsPerDay: number;
  scale?: number;
  anomalies: string;
}

export function registerSimulate(parent: Command): void {
  parent
    .command('simulate')
    .description('write a synthetic organisation: GitLab state, Vault audit logs, keytrail.yaml and ground truth')
    .requiredOption('--out <dir>', 'output directory')
    .option('--seed <n>', 'random seed', intOption('--seed'), 1)
    .option('--days <n>', 'days of activity', intOption('--days'), 7)
    .option('--projects <n>', 'projects', intOption('--projects'), 8)
    .option('--jobs-per-day <n>', 'jobs per day', intOption('--jobs-per-day'), 60)
    .option('--scale <lines>', 'approximate number of audit lines (overrides jobs per day)', intOption('--scale'))
    .option('--anomalies <which>', 'all or none', 'all')
    .action(
      runAction<SimulateOpts>(async (ctx, opts) => {
        if (opts.anomalies !== 'all' && opts.anomalies !== 'none') throw new UsageError('--anomalies must be all or none');
        if (opts.days < 1) throw new UsageError('--days must be at least 1');
        if (opts.projects < 2) throw new UsageError('--projects must be at least 2');
        const started = Date.now();
        // Loaded here, not with the CLI: every other command starts faster without the simulator.
        const { simulate } = await import('../../sim/simulate/index.js');
        const res = await simulate({
          outDir: resolve(opts.out),
          seed: opts.seed,
          days: opts.days,
          projects: opts.projects,
          jobsPerDay: opts.jobsPerDay,
          ...(opts.scale !== undefined ? { scale: opts.scale } : {}),
          anomalies: opts.anomalies,
        });
        ctx.logger.info({ seconds: (Date.now() - started) / 1000 }, 'simulation written');
        process.stdout.write(
          `${JSON.stringify({ out: res.outDir, seed: res.seed, days: res.days, pipelines: res.pipelines, jobs: res.jobs, requests: res.requests, lines: res.lines, torn_lines: res.tornLines, anomalies: res.anomalies.length })}\n`,
        );
        return 0;
      }),
    );
}
