import type { Command } from 'commander';
import { runAction } from '../action.js';
import { parseSummaryFormat, writeSummary } from '../output.js';
import { ingestServerLogs } from '../../ingest/index.js';
import { stopOnSignals } from './ingest-vault.js';

export function registerIngestServerLog(parent: Command): void {
  parent
    .command('vault-server-log')
    .description('ingest the Vault server (operational) log: lease revocations, seal and root-generation events')
    .argument('<paths...>', 'server log files')
    .option('--follow', 'keep tailing the files')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(
      runAction<{ follow?: boolean; format: string }>(async (ctx, opts, paths) => {
        const format = parseSummaryFormat(opts.format);
        const handle = await ctx.openDb();
        const stopper = stopOnSignals();
        try {
          const summary = await ingestServerLogs(handle, paths, { follow: opts.follow, signal: stopper.signal, logger: ctx.logger });
          writeSummary({ ...summary }, format);
        } finally {
          stopper.dispose();
        }
      }),
    );
}
