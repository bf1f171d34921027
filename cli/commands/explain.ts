import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerExplain(parent: Command): void {
  parent
    .command('explain')
    .description('the whole chain of one request: raw lines, token login, lease, GitLab job, attribution, verification')
    .argument('<request_id>', 'Vault request id')
    .option('--format <format>', 'table or json', 'table')
    .action(notImplemented('explain'));
}
