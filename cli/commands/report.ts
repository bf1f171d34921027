import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KeytrailError } from '../../db/errors.js';
import { intOption, dateOption, runAction } from '../action.js';
import { TOOL_VERSION } from '../version.js';

interface ReportOptions {
  from: string;
  to: string;
  out: string;
  sampleSize?: number;
  seed?: string;
  generatedAt?: string;
}

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
    .action(
      runAction<ReportOptions>(async (ctx, opts) => {
        const config = ctx.config();
        const keyFile = config.signing.private_key_file;
        let privateKeyPem: string | undefined;
        if (keyFile) {
          try {
            privateKeyPem = readFileSync(keyFile, 'utf8');
          } catch (err) {
            throw new KeytrailError(`cannot read signing.private_key_file ${keyFile}: ${(err as Error).message}`);
          }
        }
        const handle = await ctx.openDb();
        const { writeSoc2Pack } = await import('../../reports/index.js');
        const result = await writeSoc2Pack(handle, {
          from: opts.from,
          to: opts.to,
          outDir: opts.out,
          sampleSize: opts.sampleSize,
          seed: opts.seed,
          generatedAt: opts.generatedAt,
          config,
          privateKeyPem,
          toolVersion: TOOL_VERSION,
        });
        ctx.logger.info({ outDir: result.outDir, zip: result.zipPath, rows: result.rowCounts }, 'Evidence pack written.');
        process.stdout.write(
          `${result.outDir}\n${result.zipPath}\nmanifest sha256 ${result.manifestSha256}${result.signed ? ' (signed)' : ' (not signed)'}\n`,
        );
      }),
    );
}
