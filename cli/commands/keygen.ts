import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerKeygen(parent: Command): void {
  parent
    .command('keygen')
    .description('write an Ed25519 signing key pair: PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub (SPKI)')
    .requiredOption('--out <prefix>', 'file prefix')
    .action(notImplemented('keygen'));
}
