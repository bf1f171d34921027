import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../db/errors.js';
import { runAction } from '../action.js';

export function registerKeygen(parent: Command): void {
  parent
    .command('keygen')
    .description('write an Ed25519 signing key pair: PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub (SPKI)')
    .requiredOption('--out <prefix>', 'file prefix')
    .action(
      runAction<{ out: string }>(async (_ctx, opts) => {
        for (const f of [`${opts.out}.key`, `${opts.out}.pub`]) {
          if (existsSync(f)) throw new UsageError(`${f} already exists; keygen never overwrites a key`);
        }
        const { writeKeyPair } = await import('../../reports/index.js');
        const pair = writeKeyPair(opts.out);
        process.stdout.write(`${pair.privateKeyFile}\n${pair.publicKeyFile}\nfingerprint ${pair.fingerprint}\n`);
        process.stdout.write(`Set signing.private_key_file: ${pair.privateKeyFile} in keytrail.yaml; give ${pair.publicKeyFile} to whoever verifies.\n`);
      }),
    );
}
