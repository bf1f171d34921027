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
/** keytrail runs, each between two bare loops. */
const ROUNDS = 3;

/** What profiling during development showed; kept with the figures so the ratio can be read correctly. */
const NOTES = [
  'Where the time goes (CPU profiles at 200k lines, round 10): both threads are busy and share two cores with V8\'s',
  'helper threads and the checkpointer, so CPU per line is what moves the ratio. Writer: SQLite inserts with their',
  'binding ~48% (51 values a row, ~18 of them null; strings as UTF-8 blobs), reading the packed rows ~6%, the last',
  'checkpoint and closing ~10% (at 200k lines), Brotli and SHA-256 of the batches it seals itself ~9%. Worker: the',
  'line scanner ~42%, packing ~14%, copying lines into the batch ~5%, reading ~4%, and the batches it seals. The',
  'shared machine moves wall time by ±25% between runs of the same build (CPU time too), so changes were measured',
  'with per-thread CPU, CPU profiles and harnesses that run two builds in one process, and checked on the stored',
  'rows (checksums of audit_entries, audit_extra_copies, quarantine and the batch hash chain, identical to the',
  'previous build).',
  '',
  'Round 1: batches cross from the worker packed, a file\'s batches commit in groups, no per-row foreign-key probes,',
  'a 64 MiB page cache. 0.08 → 0.12. Round 2: cheaper packing → 0.17. Round 3: values packed as each line is',
  'normalised; WAL checkpoints on a background thread. → 0.28 (bare 80k lines/s).',
  'Round 4, CPU per line 73 µs → 43-59 µs: (a) V8 discarded the parser\'s optimised code at every full',
  'GC (the object shapes it checks were held weakly and died with each batch): the worker keeps its last 64 parsed',
  'entries alive, JIT time 1.96 s → 0.68 s per 100k lines; (b) no savepoint per batch inside a group (SQLite copied',
  'every page a savepoint touched to a statement journal: writes 709 → 340 MB for a 247 MB database; a failing',
  'batch now rolls back its group) and groups of 2 s; (c) one row per line: the first device\'s copy lives in the',
  'entry row (audit_copies is a view), writer 14.3 → 12.5 µs a line single-threaded; (d) row values spread into',
  'run() (better-sqlite3 reads array arguments element by element): 17.4 → 15.8 µs; (e) Brotli quality 1 instead of',
  'gzip level 1 for the kept bytes (4.4 → 1.6 µs a line, 126 → 95 bytes a line); (f) lines appended to one buffer',
  'per batch; (g) six batches in flight between worker and writer instead of two (the worker sat idle for 3.2 s of',
  'a 1M-line ingest while the writer committed, now ~1.5 s). Same rows: dump checksums of a 60k-line ingest on two',
  'devices, and the correlation of it, are identical.',
  'Round 5: the worker reuses its read buffer, its batch line buffer and the row arrays the writer hands',
  'back (~1 MB a batch had stayed allocated until a full GC): peak RSS at 500k lines 257-264 → 248-254 MB.',
  'Measured and not kept: 32 KiB pages (ingest faster, the correlator\'s random lookups as much slower); a larger',
  'worker young generation (≤ 3%, +10-20 MB RSS); a larger page cache (96-128 MiB: 5% fewer bytes written, RSS over',
  '300 MB); 5 s groups (no fewer WAL writes); hashing and compressing the kept bytes on the writer\'s thread instead',
  '(the bottleneck moved to the writer, and peak RSS rose to 361 MB); two parse workers sharing the file by',
  'byte ranges (every line read once, log_raw detection kept): no faster at 500k or 1M lines in interleaved runs',
  '(1M: 33.6/37.7 s against 36.7/35.8 s), peak RSS +20-30 MB.',
  'Round 6: entries are deduplicated through an integer request key (migration 0007: a 47-bit hash of',
  'request id and type, probed and then compared with the row) instead of the unique (request_id, type) text index:',
  'the index is 16.6 MB instead of 60 MB at 1M lines and the database 0.90 → 0.87 × the log. Single-thread SQLite',
  'harness, 1M rows: 25.9 µs CPU a row with the text index, 22.0 with the key probed by a separate SELECT, 23.8 with',
  'a BEFORE INSERT trigger, 16.3 with no dedupe index; INSERT … SELECT … WHERE NOT EXISTS was the slowest (SQLite',
  'copies each row to a temporary table first, as the target table is read). End to end, interleaved 1M-line',
  'ingests: 33.1 against 34.5 µs a line wall, 52.4 against 54.3 µs CPU (3 each). Per thread at 1M lines: writer',
  '16.9 s, parse worker 19.2 s, checkpointer 2.3 s. Measured and not kept: SHA-256 (WebCrypto) and Brotli',
  '(zlib async) of each batch on libuv\'s thread pool while the worker parses the next batch: faster in the worker',
  'alone (median 28.7 against 30 µs a line), slower end to end (35.8 against 29.8 µs a line wall, 5 interleaved',
  'runs at 500k, RSS +21 MB): the pool threads take the cores from the writer.',
  '',
  'Round 7, 0.31 → 0.40-0.44: (a) new databases use 16 KiB pages (rows are ~1 KB and appended in id',
  'order: a quarter as many pages to balance and log, less slack per page): 32.7 against 37.4 µs a line wall,',
  '49.8 against 59.3 µs CPU, database 0.87 → 0.79 × the log; the correlator stays at 1.15 × ingest (32 KiB pages,',
  'tried in round 5, slowed its random lookups); (b) the JSON text of token metadata, policy lists and warnings is',
  'remembered from the previous line when equal key by key (90% hits on this log, 85% on the simulator\'s',
  'interleaved jobs): 31.8 against 36.6 µs a line; (c) command modules load the PDF writer and the GitLab client',
  'only when they run: start-up 0.25 s shorter; (d) the next 1 MiB of the file is read while the current one is',
  'parsed: the worker waited 0.45-0.64 s instead of 1.06-1.18 s for reads at 500k lines; (e) the writer, which',
  'waited for the worker ~30% of the time, compresses the kept bytes (their buffer moves without a copy and',
  'returns with the ack; round 5 had tried this when the writer was the slower thread): 20.8 against 21.9 µs a',
  'line, RSS +22 MB; (f) the writer hashes batches whose kept bytes are the bytes read: 23.4 against 23.9 µs;',
  '(g) the worker\'s young generation is 12 MB instead of 8 (it spent ~19% of its time in GC): 25.4 against 27.6',
  'µs a line at 1M lines, same peak RSS (16 MB: +10 MB RSS; 32 MB: RSS at the budget).',
  'Stored rows are identical (checksum of audit_entries after a 124k-line simulator ingest). Measured and not',
  'kept: twelve batches in flight, V8\'s single-threaded GC. The four bench runs of that round gave 0.43, 0.40,',
  '0.44 and 0.40 (the last with (g)).',
  '',
  'Round 8, 0.40 → 0.43-0.50: (a) packed rows carry their strings as UTF-8 bytes in a transferred',
  'buffer, not as a table of JS strings that lived until the batch was posted (~400 bytes a line were promoted):',
  'the worker\'s GC pauses 1.3 → 0.6 s and its full GCs 63 → 10 per 500k lines, V8\'s helper threads 2.0 → 0.8 s',
  'CPU; (b) the row arrays handed back by the writer were never reused (a batch runs past its line limit to the end',
  'of a 1 MiB read, so the arrays that came back had grown and matched no request); frequent full GCs had hidden',
  'the garbage, and without them it cost +30 MB RSS until fixed; (c) the worker hashes and compresses a batch',
  'itself when three batches already wait for the writer (about half of them): its waits for acks 1.2 → 0.4 s,',
  'the writer\'s waits for batches 0.63 → 0.47 s; (d) the writer copies an ASCII batch\'s strings out of 32 KiB',
  'windows (substring) instead of a native call a string (~200 ns each; one string of the whole text was a large',
  'object, +12 MB RSS); (e) a blocked Bloom filter of the stored request keys spares the dedupe probe for keys',
  'never stored (loaded when the database holds up to 2M lines, dropped when another connection commits);',
  '(f) rows are bound from one reused argument array in packed order. Per thread at 1M lines after (a)-(c):',
  'writer 20.7 → 18.7 s, worker 18.4 → 17.5 s, V8 helpers 3.9 → 1.3 s, all threads 45.5 → 40.0 s CPU.',
  'Measured and not kept: one dedupe probe a batch (json_each, sorted seeks: 0.8 against 3.6 µs a key alone, but',
  'the inserts then paid the index\'s cache misses: no gain); multi-row INSERT (8 or 16 rows a statement: slower);',
  'a JS loop for ASCII strings and Node\'s primitives for the line\'s toString (no gain in profiles); V8 thread',
  'pools of 1 or 2. The four bench runs of that round gave 0.47, 0.48, 0.50 and 0.43 (the last on its final code).',
  '',
  'Round 9, CPU per line 44 → 36-41 µs over all threads (1M lines): (a) the writer binds each string as a',
  'view of its UTF-8 bytes, a blob its statement casts to TEXT, instead of a JS string that better-sqlite3 encoded',
  'to UTF-8 again (paired insert harness: 12.0-12.5 against 13.0-13.8 µs a row); (b) the line splitter hands a line',
  'over as a range of the read chunk instead of two Buffer views a line, Vault\'s UTC times are read without the',
  'regular expression, and a time with nine fractional digits is its own time key (one string packed, not two): the',
  'parse side 0.64 µs a line less CPU (paired in one process, both orders, 6 runs); (c) the WAL never started over',
  'before its 512 MiB backstop, where the writer checkpointed for 0.9-1.2 s, twice per 1M lines: at 256 MiB, once',
  'the background checkpointer has copied everything committed, the writer ends its group and copies just that',
  '(0.45-0.5 s), and its frames overwrite the old ones instead of growing the file: 24.9 against 26.1 s at 1M lines',
  '(4 runs each, ABBA order); (d) the last 32 MiB of a file are a group of their own, so the checkpointer copies the',
  'group before while they are written: closing 1.5 → 0.84 s. The stored rows and batch chains are the same',
  '(checksums after 200k- and 500k-line, 124k-line simulator and two-device ingests). Measured and not kept: one',
  'UTF-8 write for a row\'s strings (slower in place, though faster alone); a second INSERT without the 16 columns a',
  'request leaves null (no gain in the paired writer harness); WAL backstops of 32 MiB or 128 MiB (the writer',
  'checkpoints more often) and 2 GiB (appended frames and a 1.1 GB WAL to remove: slower); checkpoints every',
  '1 s instead of 200 ms, groups of 4 s (no difference); Brotli quality 0 (15% less compression CPU, +22 bytes a',
  'line stored). Bench runs of this round: 0.51 (after (a)), 0.52 (after (a)-(b)), 0.48 and 0.49 (after (a)-(d)), 0.48',
  '(with lazy CLI loads) and 0.52 (this one, the final code, after review fixes). The ratio moves with the machine\'s',
  'speed: the bare loop ran at 74-81k lines/s in the three runs that met 0.5 and at 92-96k in the three that did not.',
  '',
  'Round 10, parse side 17.7-20.5 → 13.9-15.9 µs a line: the parse worker reads the plain line Vault writes',
  'straight from its bytes (ingest/line-scanner.ts: one pass that checks the JSON and picks out the ~46 values',
  'normaliseEntry takes, as ranges of the line) instead of JSON.parse + normaliseEntry, and packs those ranges as',
  'bytes: no JS object or string per key and value. Anything it does not read exactly as JSON.parse would (non-ASCII,',
  'whitespace, repeated keys, escapes where text is kept, fractions, lines over 64 KiB, clear tokens) goes the general',
  'way, which stays the reference; the tests compare both on public, generated, simulated and mangled lines, and a',
  'review fuzzed ~1.7M lines without a difference. Parse side alone, paired in one process: 17.7-20.5 → 13.9-15.9 µs',
  'a line; the scanner alone 5.2-5.8 µs a line (JSON.parse of the same lines with their decoding: ~6.4 µs). Packing',
  'compares and copies 4 bytes at a time through DataViews (a byte at a time cost ~1.7 ns a byte): 4.2-6.6 → 3.2-4.6',
  'µs a line. Measured and not kept: a multi-row INSERT (8 or 32 rows a statement: 19-23% slower); checking 4 string',
  'bytes at a time in the scanner (bit tricks on DataView or Int32Array words: slower, strings average 14 bytes and',
  'their cost is the branch at their end); ASCII and backslash checks of the whole line with Node\'s native isAscii',
  'and indexOf, to scan strings with one comparison a byte (slower); a Map for the scanner\'s keys (~1.5 µs a line',
  'more than its open-addressing table); Brotli window 16-18 bits or quality 0 (no less CPU); a 4 MB young',
  'generation for the worker, which makes little garbage now (no difference in 8 runs, ABBA). Bench runs of this',
  'round before this one: 0.51 (bare 85k lines/s) and 0.51 (bare 93k) while the scanner was being built, then on',
  'the final code 0.46 (bare 90k; 39 µs CPU a line: the machine was slow for two threads and not for one), 0.49',
  '(bare 87k), 0.53 (bare 78k) and 0.50 (bare 91k; 0.499, not met). Over the final code\'s five runs with this one,',
  'the median of the 15 rounds is 0.51 (single rounds 0.44-0.59), and 3 of the 5 runs met 0.5.',
  '',
  'Round 11 (this run), the serial ends: (a) the CLI\'s entry is bundled with Kysely by esbuild (esbuild.config.mjs):',
  'Node resolved and linked ~450 ES modules at every start; `keytrail --version` 570 → 300 ms, a one-line ingest 650 →',
  '425 ms, and the parse worker starts ~0.25 s sooner. (b) The background checkpointer writes its progress into shared',
  'memory instead of posting it: the writer commits batch after batch without an event-loop turn while the parse worker',
  'is ahead, so reports arrived up to ~7 s late and the WAL restart acted on a WAL grown by a whole group since (0.7 s',
  'on the writer to copy it). Restarts now stop the writer 0.25-0.4 s each, twice in 1M lines. Side by side (ab.sh:',
  'the session-start build and this one, each ingesting the 1M-line file 4 times, interleaved): wall 23.1 → 21.6 µs a',
  'line, CPU 38.4 → 35.7 µs a line over all threads. Measured and not kept: restarting the WAL at 64 or 128 MiB (more',
  'restarts at ~0.3 s each, for ~0.1 s less WAL to remove per 100 MiB: no better); Brotli quality 0 (16% less',
  'Brotli time, 0.7% of the CPU, for 23% more kept bytes); INSERT … RETURNING read with pluck().get() to spare',
  'run()\'s result object (2.2 times slower); one JSONB value a row with ->> per column instead of 51 bound values',
  '(3 times slower). Bench runs of this round\'s code: 0.66 (bare 69k lines/s), 0.56 (bare 87k), 0.54 (bare 83k) and',
  '0.56 (this run, bare 82k), and later runs 0.55 (bare 81k) and 0.53 (bare 120k, a fast hour): every run met 0.5;',
  'the median of their 18 rounds is 0.555 and single rounds range 0.50-0.68 (the final code of round 10: 0.46-0.53, 3',
  'of 5 runs met).',
  '',
  'What is left: SQLite\'s insert with its binding is ~13 µs a row in place and the largest share; the scanner is at',
  'the cost of JS byte loops (~40 ns a string, ~100 strings a line); Brotli and SHA-256 of the kept bytes ~3.2 µs a',
  'line. A quarter of a row is token identity (metadata, policies, names) repeated on every request of a job:',
  'keeping it once per token would save ~1 µs a row in the writer (harness) and ~19% of the WAL bytes, at the cost of',
  'a migration and a join for every reader. The serial ends cost ~2 s of a 1M-line run: ~0.6 s from start until',
  'the parse worker scans its first line, and 1.3-1.5 s after the last batch (the checkpointer\'s copy in flight ~0.4 s,',
  'the last copy and its fsyncs ~0.4 s, and removing a WAL of 400-550 MB, whose blocks this disk discards, ~0.5 s).',
  'Peak RSS stays flat with the file size (260-270 MB at 1M lines, 273 MB at 2M).',
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
  const freshDb = () => {
    for (const suffix of ['', '-wal', '-shm', '.key']) rmSync(db + suffix, { force: true });
  };

  // The machine's load moves between minutes: each keytrail run is compared with the bare loops run just before
  // and just after it, over a few rounds, and the median round is reported.
  process.stderr.write('bench ingest: bare readline + JSON.parse loop…\n');
  const bares = [await bareLoop(file)];
  const runs: IngestRun[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    freshDb();
    process.stderr.write(`bench ingest: keytrail ingest vault (round ${round} of ${ROUNDS})…\n`);
    runs.push(await ingestRun(file, db, probe));
    process.stderr.write('bench ingest: bare loop again…\n');
    bares.push(await bareLoop(file));
  }
  const dbBytes = fileSize(db) + fileSize(`${db}-wal`);

  const bareRateOf = (b: { lines: number; seconds: number }) => b.lines / b.seconds;
  const rounds = runs.map((kt, i) => {
    const bareRate = (bareRateOf(bares[i]!) + bareRateOf(bares[i + 1]!)) / 2;
    const ktRate = kt.summary.lines! / kt.seconds;
    return { kt, ktRate, bareRate, ratio: ktRate / bareRate, before: bares[i]!, after: bares[i + 1]! };
  });
  const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)]!;
  const { kt, ktRate, bareRate, ratio, before: bareBefore, after: bareAfter } = median;
  const rssMb = Math.max(...runs.map((r) => r.maxRssBytes)) / 2 ** 20;
  const logPerLine = logBytes / lines;
  const dbPerLine = dbBytes / lines;
  const ok = (b: boolean) => (b ? 'met' : '**not met**');
  const md = [
    '## ingest (Vault audit files)',
    '',
    `Generated file: ${lines.toLocaleString('en')} lines, ${(logBytes / 2 ** 20).toFixed(1)} MiB (${logPerLine.toFixed(0)} bytes/line;`,
    'JWT logins with claim-mapped metadata, KV v2 reads, dynamic database credentials with lease ids, revoke-self; HMAC strings).',
    `Command: \`npm run bench -- ingest --scale ${lines}\` (keytrail = \`keytrail ingest vault FILE\` into an empty database in a child`,
    `process, end to end including start-up and migrations; the bare loop runs in the bench process before and after each of`,
    `${ROUNDS} keytrail runs; the round with the median ratio is shown, RSS is the highest of all rounds).`,
    '',
    '| measure | value | target | |',
    '| --- | --- | --- | --- |',
    `| keytrail ingest | ${Math.round(ktRate).toLocaleString('en')} lines/s (${kt.seconds.toFixed(1)} s wall, ${kt.cpuSeconds.toFixed(1)} s CPU over both threads) | | |`,
    `| bare readline + JSON.parse | ${Math.round(bareRate).toLocaleString('en')} lines/s (${bareBefore.seconds.toFixed(1)} s before, ${bareAfter.seconds.toFixed(1)} s after; ${bareBefore.cpuSeconds.toFixed(1)} s CPU) | | |`,
    `| CPU per line: keytrail / bare | ${((kt.cpuSeconds / kt.summary.lines!) * 1e6).toFixed(0)} µs / ${((bareBefore.cpuSeconds / bareBefore.lines) * 1e6).toFixed(0)} µs | | |`,
    `| ratio keytrail / bare (median round) | ${ratio.toFixed(2)} (rounds: ${rounds.map((r) => r.ratio.toFixed(2)).join(', ')}) | ≥ 0.5 | ${ok(ratio >= 0.5)} |`,
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
