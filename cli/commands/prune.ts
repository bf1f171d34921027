import type { Command } from 'commander';
import { runAction, dateOption } from '../action.js';
import { pruneBefore } from '../../db/prune.js';
import { parseSummaryFormat, writeSummary } from '../output.js';

export function registerPrune(parent: Command): void {
  parent
    .command('prune')
    .description('drop audit rows older than DATE, keeping batch hashes and what recorded packs need to verify')
    .requiredOption('--before <date>', 'UTC day; rows before its start are dropped', dateOption('--before'))
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(
      runAction<{ before: string; format: string }>(async (ctx, opts) => {
        const format = parseSummaryFormat(opts.format);
        const handle = await ctx.openDb();
        const summary = await pruneBefore(handle, opts.before);
        handle.sqlite.pragma('wal_checkpoint(TRUNCATE)');
        writeSummary({ ...summary }, format);
      }),
    );
}
