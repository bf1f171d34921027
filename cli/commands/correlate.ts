import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerCorrelate(parent: Command): void {
  parent
    .command('correlate')
    .description('pair requests, build token and lease lineage, attribute each request to a GitLab job and verify it')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(notImplemented('correlate'));
}
