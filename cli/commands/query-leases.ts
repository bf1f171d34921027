import type { Command } from 'commander';
import { runAction, intOption, dateOption } from '../action.js';
import { parseListFormat, writeRows, type Column } from '../output.js';
import { LEASE_FIELDS, queryLeases } from '../../correlate/index.js';
import { checkRange, type CommonQueryOptions } from './query-accesses.js';

const TABLE_COLUMNS: Column[] = [
  { key: 'lease_id', header: 'lease', maxWidth: 56 },
  { key: 'issued_at', maxWidth: 30 },
  { key: 'job_id', header: 'job' },
  { key: 'project_path', header: 'project', maxWidth: 32 },
  { key: 'renew_count', header: 'renewals' },
  { key: 'ended_at', maxWidth: 30 },
  { key: 'end_kind', header: 'ended by' },
  { key: 'end_inferred', header: 'inferred' },
  { key: 'outlived_job', header: 'outlived' },
];

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
    .action(
      runAction<CommonQueryOptions & { path?: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        checkRange(opts);
        const handle = await ctx.openDb();
        const rows = await queryLeases(handle, {
          project: opts.project,
          job: opts.job,
          pipeline: opts.pipeline,
          user: opts.user,
          path: opts.path,
          from: opts.from,
          to: opts.to,
          limit: opts.limit,
        });
        writeRows(rows, format, format === 'table' ? TABLE_COLUMNS : LEASE_FIELDS.map((key) => ({ key })));
      }),
    );
}
