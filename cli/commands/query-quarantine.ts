import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption } from '../action.js';

export function registerQueryQuarantine(parent: Command): void {
  parent
    .command('quarantine')
    .description('lines that were not stored, with their reason, device, file and byte offset')
    .option('--device <name>', 'only this device')
    .option('--limit <n>', 'at most N rows', intOption('--limit'))
    .option('--format <format>', 'table, json, ndjson or csv', 'table')
    .action(notImplemented('query quarantine'));
}
