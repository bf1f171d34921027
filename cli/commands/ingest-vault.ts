import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';
import { parseSummaryFormat, writeSummary } from '../output.js';
import { IngestIncompleteError, ingestVaultFiles, startSocketListener } from '../../ingest/index.js';

interface IngestVaultOptions {
  device?: string;
  follow?: boolean;
  listen?: string;
  format: string;
}

/** SIGINT/SIGTERM abort the signal: the command stops after committing what it has read. */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/** A progress bar on stderr, only when stderr is a terminal (never in pipes, cron or tests). */
export function progressBar(quiet: boolean | undefined): { update(done: number, total: number): void; stop(): void } {
  if (!process.stderr.isTTY || quiet) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: 'ingest [{bar}] {percentage}% | {value}/{total} bytes | ETA {eta}s', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function registerIngestVault(parent: Command): void {
  parent
    .command('vault')
    .description('ingest Vault audit-device files (or a socket audit device with --listen)')
    .argument('[paths...]', 'audit files or directories')
    .option('--device <name>', 'device name (default: the file name without rotation suffixes)')
    .option('--follow', 'keep tailing the files')
    .option('--listen <url>', 'act as the server of a socket audit device, e.g. tcp://127.0.0.1:9090')
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(
      runAction<IngestVaultOptions>(async (ctx, opts, paths) => {
        const format = parseSummaryFormat(opts.format);
        const config = ctx.config();
        const prefixes: Record<string, string> = {};
        for (const d of config.vault.devices) if (d.prefix) prefixes[d.name] = d.prefix;
        const stopper = stopOnSignals();
        try {
          if (opts.listen) {
            if (!opts.device) throw new UsageError('--listen needs --device NAME');
            if (paths.length) throw new UsageError('--listen takes no file arguments');
            const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(opts.listen);
            if (!m) throw new UsageError(`--listen must look like tcp://HOST:PORT (got "${opts.listen}")`);
            const handle = await ctx.openDb();
            const listener = await startSocketListener(handle, {
              host: m[1]!.replace(/^\[|\]$/g, ''),
              port: Number(m[2]),
              device: opts.device,
              prefix: prefixes[opts.device],
              logger: ctx.logger,
            });
            process.stderr.write(`keytrail: listening on tcp://${listener.address}\n`);
            await new Promise<void>((resolve) => stopper.signal.addEventListener('abort', () => resolve(), { once: true }));
            const summary = await listener.stop();
            writeSummary({ ...summary }, format);
            return;
          }
          if (paths.length === 0) throw new UsageError('ingest vault needs at least one file or directory (or --listen)');
          const handle = await ctx.openDb();
          const bar = progressBar(ctx.options.quiet || opts.follow);
          const summary = await ingestVaultFiles(handle, paths, {
            device: opts.device,
            prefix: opts.device ? prefixes[opts.device] : undefined,
            prefixes,
            configuredDevices: config.vault.devices,
            follow: opts.follow,
            signal: stopper.signal,
            logger: ctx.logger,
            onProgress: (done, total) => bar.update(done, total),
          }).catch((err: unknown) => {
            bar.stop();
            // Unreadable files: still print what the others yielded, then exit 1.
            if (err instanceof IngestIncompleteError) writeSummary({ ...err.summary }, format);
            throw err;
          });
          bar.stop();
          writeSummary({ ...summary }, format);
        } finally {
          stopper.dispose();
        }
      }),
    );
}
