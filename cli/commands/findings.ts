import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerFindings(parent: Command): void {
  const findings = parent.command('findings').description('triage findings');
  findings
    .command('resolve')
    .description('mark a finding resolved, with a note')
    .argument('<id>', 'finding id')
    .requiredOption('--note <text>', 'why it is resolved')
    .action(notImplemented('findings resolve'));
  findings
    .command('reopen')
    .description('re-open a resolved finding, with a note')
    .argument('<id>', 'finding id')
    .requiredOption('--note <text>', 'why it is re-opened')
    .action(notImplemented('findings'));
}
