import type { Command } from 'commander';
import { runAction } from '../action.js';
import { migrationStatus } from '../../db/index.js';
import { parseListFormat, writeRows } from '../output.js';

export function registerMigrate(parent: Command): void {
  parent
    .command('migrate')
    .description('apply pending database migrations (they also run on every open); --status lists them')
    .option('--status', 'list migrations and whether each is applied')
    .option('--format <format>', 'with --status: table, json, ndjson or csv', 'table')
    .action(
      runAction<{ status?: boolean; format: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        const handle = await ctx.openDb();
        if (opts.status) {
          const rows = await migrationStatus(handle);
          writeRows(rows, format, [{ key: 'name' }, { key: 'applied' }, { key: 'executed_at' }]);
          return;
        }
        const rows = await migrationStatus(handle);
        ctx.logger.info({ db: ctx.dbPath, migrations: rows.length }, 'database is up to date');
      }),
    );
}
