import type { Command } from 'commander';
import { runAction, intOption, dateOption } from '../action.js';
import { parseListFormat, writeRows, type Column } from '../output.js';
import { TOKEN_FIELDS, queryTokens } from '../../correlate/index.js';
import { ATTRIBUTIONS, checkChoice, checkRange, type CommonQueryOptions } from './query-accesses.js';

const TABLE_COLUMNS: Column[] = [
  { key: 'token_id', header: 'token' },
  { key: 'issued_at', maxWidth: 30 },
  { key: 'token_type', header: 'type' },
  { key: 'role', maxWidth: 24 },
  { key: 'display_name', header: 'identity', maxWidth: 32 },
  { key: 'job_id', header: 'job' },
  { key: 'project_path', header: 'project', maxWidth: 32 },
  { key: 'attribution' },
  { key: 'verified' },
  { key: 'request_count', header: 'requests' },
  { key: 'ends_at', maxWidth: 30 },
  { key: 'revoke_kind', header: 'ended by' },
  { key: 'outlived_job', header: 'outlived' },
];

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
    .action(
      runAction<CommonQueryOptions & { attribution?: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        checkChoice('--attribution', opts.attribution, ATTRIBUTIONS);
        checkRange(opts);
        const handle = await ctx.openDb();
        const rows = await queryTokens(handle, {
          project: opts.project,
          job: opts.job,
          pipeline: opts.pipeline,
          user: opts.user,
          from: opts.from,
          to: opts.to,
          attribution: opts.attribution,
          limit: opts.limit,
        });
        writeRows(rows, format, format === 'table' ? TABLE_COLUMNS : TOKEN_FIELDS.map((key) => ({ key })));
      }),
    );
}
