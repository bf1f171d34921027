import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../db/errors.js';
import { runAction } from '../action.js';

export function registerVerify(parent: Command): void {
  parent
    .command('verify')
    .description('check an evidence pack against its manifest (and its signature with --public-key)')
    .argument('<dir>', 'pack directory')
    .option('--public-key <file>', 'Ed25519 public key (SPKI PEM)')
    .action(
      runAction<{ publicKey?: string }>(async (_ctx, opts, args) => {
        const dir = args[0]!;
        let publicKeyPem: string | undefined;
        if (opts.publicKey) {
          try {
            publicKeyPem = readFileSync(opts.publicKey, 'utf8');
          } catch (err) {
            throw new UsageError(`cannot read --public-key ${opts.publicKey}: ${(err as Error).message}`);
          }
        }
        const { verifyPack } = await import('../../reports/index.js');
        const result = await verifyPack(dir, publicKeyPem);
        if (result.ok) {
          process.stdout.write(`${dir}: ${result.statement}\n`);
          return 0;
        }
        process.stdout.write(`${dir}: ${result.statement}\n${result.problems.map((p) => `  ${p}\n`).join('')}`);
        return 1;
      }),
    );
}
