import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption, dateOption } from '../action.js';

export function registerQueryTokens(parent: Command): void {
  parent
    .command('tokens')
    .description('tokens issued, their job, end and whether they outlived it')
    .option('--project <id-or-path>', 'project id or path')
    .option('--job <id>', 'GitLab job id', intOption('--job'))
    .option('--pipeline <id>', 'GitLab pipeline id', intOption('--pipeline'))
    .option('--user <login>', 'GitLab user login')
    .option('--from <date>', 'first UTC day', dateOption('--from'))
    .option('--to <date>', 'last UTC day (inclusive)', dateOption('--to'))
    .option('--attribution <kind>', 'claims, correlation-id, heuristic or none')
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(notImplemented('query tokens'));
}
