/**
 * `npm run bench -- ingest [--scale LINES]`: keytrail's Vault audit ingest against a bare single-threaded
 * `readline` + `JSON.parse` loop over the same generated file, in the same run. Reports lines/s of both and
 * their ratio (target ≥ 0.5), the peak RSS of the ingest process (target ≤ 300 MB whatever the size) and the
 * database bytes per audit line against the log bytes per line (target: database no larger than the log).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { machineLine, type BenchOptions } from './run.js';
import { writeAuditFile } from './gen-audit.js';

const CLI = resolve(import.meta.dirname, '../cli/main.js');

/** What profiling during development showed; kept with the figures so the ratio can be read correctly. */
const NOTES = [
  'Where the time goes: per-thread CPU read from /proc/<pid>/task at 200k lines (the shared machine moves CPU time by',
  '±15% between runs, so changes were measured A/B, interleaved). The bare loop spends ~11 µs a line on one thread and',
  'almost nothing in V8\'s helper threads (its garbage dies young). keytrail, after round 3: main thread (SQLite) ~33 µs,',
  'parse worker ~32 µs, V8 GC helper threads ~10 µs, checkpointer ~2 µs — about 77 µs of CPU a line on a machine with',
  'two cores, so the wall time is bound by total CPU, not by either thread alone (vmstat: ~90% busy, ~10% idle).',
  '',
  'Round 1: batches cross from the worker packed (a strings table + transferred typed arrays), a file\'s batches',
  'commit in groups (≤ 16 batches / 0.5 s), no per-row foreign-key probes, a 64 MiB page cache. 0.08 → 0.12.',
  'Round 2: cheaper packing (a repeat of the same column\'s previous value found by a compare). → 0.17 (most of that',
  'step was a quieter machine).',
  'Round 3 (this run): (a) each line\'s values are packed as soon as it is normalised and the writer binds straight',
  'from the packed arrays — the worker used to keep every line\'s value arrays until its batch was posted; they',
  'survived young-generation collections and were promoted, and V8\'s helper threads spent 18 µs a line collecting',
  'them (now ~10). (b) WAL checkpoints run on a background thread with its own connection during large reads',
  '(the writer\'s autocheckpoint is raised to a 512 MiB backstop meanwhile): the writer no longer stops to copy',
  'and fsync the WAL. Same rows: dump checksums of a 60k-line ingest on two devices are identical.',
  'Measured and not kept: 32 KiB pages (ingest 10-15% faster, but the correlator\'s random lookups as much slower);',
  'gzip on the libuv thread pool (the CPU moved, none was saved: no gain); a larger worker young generation (no',
  'change); SQL-side unpacking with json_each / jsonb_each (2-4x slower than binding).',
  '',
  'What is left, and why 0.5 is out of reach for this design: per line, JSON.parse alone costs the worker what the',
  'bare loop costs (~9-11 µs); normalising (~4 µs), SHA-256 (~1.5 µs), gzip level 1 of the kept bytes (~5 µs, the',
  'price of a database smaller than the log) and packing (~4 µs) come on top. The writer inserts two rows a line',
  '(the deduplicated entry, ~36 values, and the device\'s copy, ~17 values); better-sqlite3 costs ~4 µs per statement',
  'with nulls only and ~8 µs more with real strings, and the indexes and WAL come on top. At 2 cores, 0.5x a',
  'single-threaded bare loop means at most ~45 µs of CPU a line in total; the floor of the work above is ~55-60.',
  'The next structural step would be one row per line (the first device\'s copy folded into the entry, further',
  'copies in audit_copies), about 8-10 µs of writer CPU; it changes what the correlator and the reports read.',
].join('\n');

async function bareLoop(file: string): Promise<{ lines: number; seconds: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let lines = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    JSON.parse(line);
    lines++;
  }
  const cpu = process.cpuUsage(c0);
  return { lines, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

interface IngestRun {
  summary: Record<string, number>;
  seconds: number;
  maxRssBytes: number;
  /** User + system CPU of the whole ingest process (both threads). */
  cpuSeconds: number;
}

/** Runs the real CLI in a child process; its peak RSS (all threads) is reported by an exit hook. */
function ingestRun(file: string, db: string, probe: string): Promise<IngestRun> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', pathToFileURL(probe).href, CLI, '--db', db, '--quiet', 'ingest', 'vault', file, '--format', 'json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`ingest exited ${code}: ${err}`));
      const rss = /MAXRSS_KB (\d+) CPU_US (\d+)/.exec(err);
      resolvePromise({
        summary: JSON.parse(out) as Record<string, number>,
        seconds,
        maxRssBytes: rss ? Number(rss[1]) * 1024 : NaN,
        cpuSeconds: rss ? Number(rss[2]) / 1e6 : NaN,
      });
    });
  });
}

function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

export async function run(opts: BenchOptions): Promise<void> {
  const lines = opts.scale;
  const file = join(opts.dataDir, `ingest-audit-${lines}.log`);
  if (!existsSync(file)) {
    process.stderr.write(`bench ingest: generating ${lines} audit lines…\n`);
    await writeAuditFile(file, { lines, seed: 42 });
  }
  const logBytes = statSync(file).size;
  const probe = join(opts.dataDir, 'maxrss-probe.mjs');
  writeFileSync(
    probe,
    "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('MAXRSS_KB ' + u.maxRSS + ' CPU_US ' + (u.userCPUTime + u.systemCPUTime) + '\\n'); });\n",
  );
  const db = join(opts.dataDir, 'ingest-bench.db');
  for (const suffix of ['', '-wal', '-shm', '.key']) rmSync(db + suffix, { force: true });

  process.stderr.write('bench ingest: bare readline + JSON.parse loop…\n');
  const bareBefore = await bareLoop(file);
  process.stderr.write('bench ingest: keytrail ingest vault…\n');
  const kt = await ingestRun(file, db, probe);
  process.stderr.write('bench ingest: bare loop again…\n');
  const bareAfter = await bareLoop(file);
  const dbBytes = fileSize(db) + fileSize(`${db}-wal`);

  const bareRate = (bareBefore.lines / bareBefore.seconds + bareAfter.lines / bareAfter.seconds) / 2;
  const ktRate = kt.summary.lines! / kt.seconds;
  const ratio = ktRate / bareRate;
  const rssMb = kt.maxRssBytes / 2 ** 20;
  const logPerLine = logBytes / lines;
  const dbPerLine = dbBytes / lines;
  const ok = (b: boolean) => (b ? 'met' : '**not met**');
  const md = [
    '## ingest (Vault audit files)',
    '',
    `Generated file: ${lines.toLocaleString('en')} lines, ${(logBytes / 2 ** 20).toFixed(1)} MiB (${logPerLine.toFixed(0)} bytes/line;`,
    'JWT logins with claim-mapped metadata, KV v2 reads, dynamic database credentials with lease ids, revoke-self; HMAC strings).',
    `Command: \`npm run bench -- ingest --scale ${lines}\` (keytrail = \`keytrail ingest vault FILE\` in a child process, end to end`,
    'including start-up and migrations; the bare loop runs in the bench process before and after it).',
    '',
    '| measure | value | target | |',
    '| --- | --- | --- | --- |',
    `| keytrail ingest | ${Math.round(ktRate).toLocaleString('en')} lines/s (${kt.seconds.toFixed(1)} s wall, ${kt.cpuSeconds.toFixed(1)} s CPU over both threads) | | |`,
    `| bare readline + JSON.parse | ${Math.round(bareRate).toLocaleString('en')} lines/s (${bareBefore.seconds.toFixed(1)} s before, ${bareAfter.seconds.toFixed(1)} s after; ${bareBefore.cpuSeconds.toFixed(1)} s CPU) | | |`,
    `| CPU per line: keytrail / bare | ${((kt.cpuSeconds / kt.summary.lines!) * 1e6).toFixed(0)} µs / ${((bareBefore.cpuSeconds / bareBefore.lines) * 1e6).toFixed(0)} µs | | |`,
    `| ratio keytrail / bare | ${ratio.toFixed(2)} | ≥ 0.5 | ${ok(ratio >= 0.5)} |`,
    `| peak RSS of the ingest process | ${rssMb.toFixed(0)} MB | ≤ 300 MB | ${ok(rssMb <= 300)} |`,
    `| database bytes per audit line | ${dbPerLine.toFixed(0)} (log: ${logPerLine.toFixed(0)}; db/log ${(dbBytes / logBytes).toFixed(2)}) | ≤ log | ${ok(dbBytes <= logBytes)} |`,
    '',
    `Summary: \`${JSON.stringify(kt.summary)}\``,
    '',
    `Machine: ${machineLine()} (shared with other jobs: load varies, so compare the ratio, not absolute rates).`,
    '',
    NOTES,
    '',
  ].join('\n');
  writeFileSync(join(opts.resultsDir, 'ingest.md'), md);
  process.stdout.write(md);
}
