import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerAlerts(parent: Command): void {
  parent
    .command('alerts')
    .description('run the detectors and deliver each new, re-opened or escalated finding once per channel')
    .option('--webhook <url>', 'also deliver to this webhook')
    .option('--webhook-format <format>', 'generic or slack', 'generic')
    .option('--format <format>', 'table or json (one line per delivery)', 'table')
    .action(notImplemented('alerts'));
}
