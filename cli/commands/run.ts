import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerRun(parent: Command): void {
  parent
    .command('run')
    .description('the nightly job: ingest, sync, correlate, alert and report as keytrail.yaml says')
    .option('--report-period <period>', 'force the pack of a period: 2026-03 or 2026-Q1')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(notImplemented('run'));
}
