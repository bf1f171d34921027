import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerIngestVault(parent: Command): void {
  parent
    .command('vault')
    .description('ingest Vault audit-device files (or a socket audit device with --listen)')
    .argument('[paths...]', 'audit files or directories')
    .option('--device <name>', 'device name (default: the file name without rotation suffixes)')
    .option('--follow', 'keep tailing the files')
    .option('--listen <url>', 'act as the server of a socket audit device, e.g. tcp://127.0.0.1:9090')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(notImplemented('ingest vault'));
}
