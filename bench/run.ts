/**
 * `npm run bench -- <stage...> [--scale LINES]`: runs the named benchmark stages (all when none is named)
 * and rewrites bench/RESULTS.md from each stage's bench/results/<stage>.md.
 *
 * Each stage module exports `run(opts)` and writes its own results file: figures, the baseline measured in
 * the same run, the ratio, and the machine. Machines here are shared and noisy, so only ratios against a
 * baseline of the same run are compared with targets.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export interface BenchOptions {
  /** Audit lines for the stage's generated data (default 1,000,000). */
  scale: number;
  /** Working directory for generated data (bench/data, git-ignored). */
  dataDir: string;
  /** Where the stage writes its markdown section. */
  resultsDir: string;
}

export interface BenchStage {
  run(opts: BenchOptions): Promise<void>;
}

const STAGES = ['ingest', 'gitlab', 'correlate', 'query', 'detect', 'report'] as const;
const ROOT = resolve(import.meta.dirname, '../..');

export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let scale = 1_000_000;
  const wanted: string[] = [];
  if (args.includes('--assemble')) {
    // Only rebuild bench/RESULTS.md from the stages' committed results.
    writeResults(join(ROOT, 'bench', 'results'));
    return;
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--scale') scale = Number(args[++i]);
    else if (a.startsWith('--scale=')) scale = Number(a.slice(8));
    else wanted.push(a);
  }
  if (!Number.isInteger(scale) || scale <= 0) throw new Error('--scale must be a positive integer');
  const unknown = wanted.filter((w) => !(STAGES as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`unknown stage(s) ${unknown.join(', ')}; stages: ${STAGES.join(', ')}`);
  const stages = wanted.length ? wanted : [...STAGES];
  const opts: BenchOptions = {
    scale,
    dataDir: join(ROOT, 'bench', 'data'),
    resultsDir: join(ROOT, 'bench', 'results'),
  };
  mkdirSync(opts.dataDir, { recursive: true });
  mkdirSync(opts.resultsDir, { recursive: true });
  for (const stage of stages) {
    const file = join(ROOT, 'dist', 'bench', `${stage}.js`);
    if (!existsSync(file)) {
      process.stderr.write(`bench: stage ${stage} has no benchmark yet, skipped\n`);
      continue;
    }
    process.stderr.write(`bench: ${stage}…\n`);
    const mod = (await import(file)) as BenchStage;
    await mod.run(opts);
  }
  writeResults(opts.resultsDir);
}

function writeResults(resultsDir: string): void {
  const sections = STAGES.filter((s) => existsSync(join(resultsDir, `${s}.md`))).map((s) =>
    readFileSync(join(resultsDir, `${s}.md`), 'utf8').trim(),
  );
  const extra = readdirSync(resultsDir).filter((f) => f.endsWith('.md') && !(STAGES as readonly string[]).includes(f.slice(0, -3)));
  const text = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (each stage rewrites its section in `bench/results/<stage>.md`). Every figure is',
    'reported beside a baseline measured in the same run on the same machine; targets are ratios.',
    '',
    ...sections.flatMap((s) => [s, '']),
    ...extra.flatMap((f) => [readFileSync(join(resultsDir, f), 'utf8').trim(), '']),
  ].join('\n');
  writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), text);
}

// Only as the entry point: stages import machineLine() from here and must not start the whole suite.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
