import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption, dateOption } from '../action.js';

export function registerQueryAccesses(parent: Command): void {
  parent
    .command('accesses')
    .description('one row per Vault request with its job, pipeline, project and person')
    .option('--project <id-or-path>', 'project id or path')
    .option('--job <id>', 'GitLab job id', intOption('--job'))
    .option('--pipeline <id>', 'GitLab pipeline id', intOption('--pipeline'))
    .option('--user <login>', 'GitLab user login')
    .option('--path <glob>', 'Vault path (* does not cross /, ** does)')
    .option('--from <date>', 'first UTC day', dateOption('--from'))
    .option('--to <date>', 'last UTC day (inclusive)', dateOption('--to'))
    .option('--attribution <kind>', 'claims, correlation-id, heuristic or none')
    .option('--outcome <outcome>', 'ok, denied or error')
    .option('--device <name>', 'seen by this audit device')
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(notImplemented('query accesses'));
}
