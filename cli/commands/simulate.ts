import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption } from '../action.js';

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
    .action(notImplemented('simulate'));
}
