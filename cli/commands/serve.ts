import type { Command } from 'commander';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';

export function registerServe(parent: Command): void {
  parent
    .command('serve')
    .description('web interface (planned; not available yet)')
    .option('--port <n>', 'port')
    .action(
      runAction(async () => {
        throw new UsageError('`serve` is not available yet');
      }),
    );
}
