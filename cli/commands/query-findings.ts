import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption, dateOption } from '../action.js';

export function registerQueryFindings(parent: Command): void {
  parent
    .command('findings')
    .description('findings raised by the detectors')
    .option('--rule <id>', 'rule id')
    .option('--severity <level>', 'low, medium, high or critical')
    .option('--status <status>', 'open, muted or resolved')
    .option('--project <id-or-path>', 'project id or path')
    .option('--job <id>', 'GitLab job id', intOption('--job'))
    .option('--user <login>', 'GitLab user login')
    .option('--path <glob>', 'Vault path glob')
    .option('--from <date>', 'first UTC day', dateOption('--from'))
    .option('--to <date>', 'last UTC day (inclusive)', dateOption('--to'))
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(notImplemented('query findings'));
}
