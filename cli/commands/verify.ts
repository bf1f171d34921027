import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerVerify(parent: Command): void {
  parent
    .command('verify')
    .description('check an evidence pack against its manifest (and its signature with --public-key)')
    .argument('<dir>', 'pack directory')
    .option('--public-key <file>', 'Ed25519 public key (SPKI PEM)')
    .action(notImplemented('verify'));
}
