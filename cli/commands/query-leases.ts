import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption, dateOption } from '../action.js';

export function registerQueryLeases(parent: Command): void {
  parent
    .command('leases')
    .description('dynamic-secret leases, how and when they ended, and whether they outlived their job')
    .option('--project <id-or-path>', 'project id or path')
    .option('--job <id>', 'GitLab job id', intOption('--job'))
    .option('--pipeline <id>', 'GitLab pipeline id', intOption('--pipeline'))
    .option('--user <login>', 'GitLab user login')
    .option('--path <glob>', 'lease id / path glob')
    .option('--from <date>', 'first UTC day', dateOption('--from'))
    .option('--to <date>', 'last UTC day (inclusive)', dateOption('--to'))
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(notImplemented('query leases'));
}
