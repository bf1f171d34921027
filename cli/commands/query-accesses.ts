import type { Command } from 'commander';
import { runAction, intOption, dateOption } from '../action.js';
import { parseListFormat, writeRows, type Column } from '../output.js';
import { UsageError } from '../../db/errors.js';
import { ACCESS_FIELDS, queryAccesses } from '../../correlate/index.js';

export interface CommonQueryOptions {
  project?: string;
  job?: number;
  pipeline?: number;
  user?: string;
  from?: string;
  to?: string;
  limit?: number;
  format?: string;
}

const ATTRIBUTIONS = ['claims', 'correlation-id', 'heuristic', 'none'];
const OUTCOMES = ['ok', 'denied', 'error'];

export function checkChoice(flag: string, value: string | undefined, allowed: string[]): void {
  if (value !== undefined && !allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
}

export function checkRange(opts: { from?: string; to?: string }): void {
  if (opts.from && opts.to && opts.from > opts.to) throw new UsageError('--from must not be after --to');
}

export { ATTRIBUTIONS };

/** Table columns for a person; json/ndjson/csv carry every field of the access row. */
const TABLE_COLUMNS: Column[] = [
  { key: 'time', maxWidth: 30 },
  { key: 'request_id', maxWidth: 36 },
  { key: 'operation' },
  { key: 'path', maxWidth: 48 },
  { key: 'outcome' },
  { key: 'display_name', header: 'identity', maxWidth: 32 },
  { key: 'job_id', header: 'job' },
  { key: 'project_path', header: 'project', maxWidth: 32 },
  { key: 'user_login', header: 'user' },
  { key: 'attribution' },
  { key: 'verified' },
];

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
    .action(
      runAction<CommonQueryOptions & { path?: string; attribution?: string; outcome?: string; device?: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        checkChoice('--attribution', opts.attribution, ATTRIBUTIONS);
        checkChoice('--outcome', opts.outcome, OUTCOMES);
        checkRange(opts);
        const handle = await ctx.openDb();
        const rows = await queryAccesses(handle, {
          project: opts.project,
          job: opts.job,
          pipeline: opts.pipeline,
          user: opts.user,
          path: opts.path,
          from: opts.from,
          to: opts.to,
          attribution: opts.attribution,
          outcome: opts.outcome,
          device: opts.device,
          limit: opts.limit,
        });
        writeRows(rows, format, format === 'table' ? TABLE_COLUMNS : ACCESS_FIELDS.map((key) => ({ key })));
      }),
    );
}
