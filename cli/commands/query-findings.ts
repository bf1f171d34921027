import type { Command } from 'commander';
import { intOption, dateOption, runAction } from '../action.js';
import { parseListFormat, writeRows, type Column } from '../output.js';
import { FINDING_FIELDS, queryFindings, type FindingFilters, type ListedFinding } from '../../reports/detect/index.js';

const TABLE_COLUMNS: Column[] = [
  { key: 'id' },
  { key: 'rule' },
  { key: 'severity' },
  { key: 'status' },
  { key: 'subject', maxWidth: 40 },
  { key: 'first_seen' },
  { key: 'last_seen' },
  { key: 'count' },
  { key: 'job_id' },
  { key: 'project_id' },
  { key: 'user_login' },
  { key: 'path', maxWidth: 40 },
  { key: 'muted_by', maxWidth: 80 },
  { key: 'detail', maxWidth: 100 },
];

/** Exactly the finding fields of CONTRACT.md, in order. */
function contractRow(f: ListedFinding): Record<string, unknown> {
  return Object.fromEntries(FINDING_FIELDS.map((k) => [k, f[k]]));
}

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
    .action(
      runAction<FindingFilters & { format: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        const handle = await ctx.openDb();
        const rows = await queryFindings(handle, opts);
        if (format === 'table') {
          writeRows(
            rows.map((r) => ({ ...r, muted_by: r.status === 'muted' ? `${r.mute_reason} (${r.mute_owner})` : null })),
            format,
            TABLE_COLUMNS,
          );
        } else {
          writeRows(rows.map(contractRow), format, FINDING_FIELDS.map((key) => ({ key })));
        }
      }),
    );
}
