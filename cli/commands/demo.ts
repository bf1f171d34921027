import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';

export function registerDemo(parent: Command): void {
  parent
    .command('demo')
    .description('the whole pipeline on a small simulated organisation in ./keytrail-demo/')
    .action(notImplemented('demo'));
}
