import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { dateOption } from '../action.js';

export function registerPrune(parent: Command): void {
  parent
    .command('prune')
    .description('drop audit rows older than DATE, keeping what recorded packs need to verify')
    .requiredOption('--before <date>', 'UTC day', dateOption('--before'))
    .action(notImplemented('prune'));
}
