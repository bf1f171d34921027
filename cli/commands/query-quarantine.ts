import type { Command } from 'commander';
import { intOption, runAction } from '../action.js';
import { parseListFormat, writeRows } from '../output.js';
import { listQuarantine } from '../../ingest/index.js';

export function registerQueryQuarantine(parent: Command): void {
  parent
    .command('quarantine')
    .description('lines that were not stored, with their reason, device, file and byte offset')
    .option('--device <name>', 'only this device')
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(
      runAction<{ device?: string; limit?: number; format: string }>(async (ctx, opts) => {
        const format = parseListFormat(opts.format);
        const handle = await ctx.openDb();
        const rows = await listQuarantine(handle, { device: opts.device, limit: opts.limit });
        writeRows(rows, format, [
          { key: 'id' },
          { key: 'device' },
          { key: 'source' },
          { key: 'file', maxWidth: 50 },
          { key: 'offset' },
          { key: 'length' },
          { key: 'reason' },
          { key: 'detail', maxWidth: 50 },
          { key: 'excerpt', maxWidth: 60 },
        ]);
      }),
    );
}
