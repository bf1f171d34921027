import type { Command } from 'commander';
import { runAction } from '../action.js';
import { parseSummaryFormat } from '../output.js';
import { KeytrailError } from '../../db/errors.js';
import { explainRequest, renderExplanation } from '../../correlate/index.js';

export function registerExplain(parent: Command): void {
  parent
    .command('explain')
    .description('the whole chain of one request: raw lines, token login, lease, GitLab job, attribution, verification')
    .argument('<request_id>', 'Vault request id')
    .option('--format <format>', 'table or json', 'table')
    .action(
      runAction<{ format?: string }>(async (ctx, opts, args) => {
        const format = parseSummaryFormat(opts.format);
        const requestId = args[0]!;
        const handle = await ctx.openDb();
        const explanation = await explainRequest(handle, requestId);
        if (!explanation) throw new KeytrailError(`no request "${requestId}" in the database (ingest its audit log first)`);
        process.stdout.write(format === 'json' ? JSON.stringify(explanation) + '\n' : renderExplanation(explanation));
      }),
    );
}
