import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerIngestServerLog(parent: Command): void {
  parent
    .command('vault-server-log')
    .description('ingest the Vault server (operational) log: lease revocations, seal and root-generation events')
    .argument('<paths...>', 'server log files')
    .option('--follow', 'keep tailing the files')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(notImplemented('ingest server log'));
}
