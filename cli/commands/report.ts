import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { intOption, dateOption } from '../action.js';

export function registerReport(parent: Command): void {
  const report = parent.command('report').description('evidence packs');
  report
    .command('soc2')
    .description('write a SOC 2 evidence pack for a period')
    .requiredOption('--from <date>', 'first UTC day', dateOption('--from'))
    .requiredOption('--to <date>', 'last UTC day (inclusive)', dateOption('--to'))
    .requiredOption('--out <dir>', 'output directory (DIR.zip is written beside it)')
    .option('--sample-size <n>', 'accesses in the sample', intOption('--sample-size'))
    .option('--seed <seed>', 'sample seed (default: derived from the period)')
    .option('--generated-at <iso>', 'fixed generation time, for byte-identical packs')
    .action(notImplemented('report'));
}
