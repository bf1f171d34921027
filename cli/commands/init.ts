import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';
import { CONFIG_TEMPLATE } from '../init-template.js';

export function registerInit(parent: Command): void {
  parent
    .command('init')
    .description('write a commented keytrail.yaml with every key and its default')
    .option('--out <file>', 'where to write it', 'keytrail.yaml')
    .option('--force', 'overwrite an existing file')
    .action(
      runAction<{ out: string; force?: boolean }>(async (ctx, opts) => {
        const path = resolve(opts.out);
        if (existsSync(path) && !opts.force) throw new UsageError(`${opts.out} already exists (use --force to overwrite it)`);
        writeFileSync(path, CONFIG_TEMPLATE);
        ctx.logger.info({ path }, 'wrote configuration');
      }),
    );
}
