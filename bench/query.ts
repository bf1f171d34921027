/**
 * `npm run bench -- query [--scale LINES]`: `query accesses --project P --from D1 --to D2 --limit 1000`
 * measured in-process (no process start), median of repeated runs, beside a full scan of the same table
 * in the same run. Target: median < 50 ms.
 *
 * Uses the database `bench correlate` leaves in bench/data/correlate.db when it matches the scale; otherwise
 * simulates, ingests and correlates first.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineLine, type BenchOptions } from './run.js';
import { openDatabase } from '../db/index.js';
import { correlate, queryAccesses } from '../correlate/index.js';
import { ingestAll, prepareSimulation, storeSimulatedGitlab } from './correlate.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function run(opts: BenchOptions): Promise<void> {
  const data = await prepareSimulation(opts);
  const dbPath = join(opts.dataDir, 'correlate.db');
  const markerPath = join(opts.dataDir, 'correlate.db.scale');
  const reuse = existsSync(dbPath) && existsSync(markerPath) && readFileSync(markerPath, 'utf8') === String(opts.scale);
  const handle = await openDatabase(dbPath);
  try {
    if (!reuse) {
      await storeSimulatedGitlab(handle, data.simDir);
      await ingestAll(handle, data);
      await correlate(handle, data.settings);
    }
    writeFileSync(markerPath, String(opts.scale));
    // The busiest project and the middle days of the simulated period.
    const busiest = handle.sqlite
      .prepare('SELECT project_id AS id, COUNT(*) AS n FROM accesses WHERE project_id IS NOT NULL GROUP BY project_id ORDER BY n DESC LIMIT 1')
      .get() as { id: number; n: number };
    const span = handle.sqlite.prepare('SELECT MIN(time_key) AS lo, MAX(time_key) AS hi FROM accesses').get() as { lo: string; hi: string };
    const total = (handle.sqlite.prepare('SELECT COUNT(*) AS n FROM accesses').get() as { n: number }).n;
    const from = span.lo.slice(0, 10);
    const to = span.hi.slice(0, 10);

    const filters = { project: busiest.id, from, to, limit: 1000 };
    for (let i = 0; i < 3; i++) for (const _r of await queryAccesses(handle, filters)) void _r; // warm-up
    const runs: number[] = [];
    let rows = 0;
    for (let i = 0; i < 25; i++) {
      const t0 = performance.now();
      rows = 0;
      for (const _r of await queryAccesses(handle, filters)) rows++;
      runs.push(performance.now() - t0);
    }
    const byPath = (handle.sqlite.prepare('SELECT path_with_namespace AS p FROM gitlab_projects WHERE id = ?').get(busiest.id) as { p: string } | undefined)?.p;
    const pathRuns: number[] = [];
    if (byPath) {
      for (let i = 0; i < 11; i++) {
        const t0 = performance.now();
        for (const _r of await queryAccesses(handle, { ...filters, project: byPath })) void _r;
        pathRuns.push(performance.now() - t0);
      }
    }
    // Baseline: a full scan of the same table through the same function (no filter, no limit).
    const scanRuns: number[] = [];
    let scanned = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      scanned = 0;
      for (const _r of await queryAccesses(handle, {})) scanned++;
      scanRuns.push(performance.now() - t0);
    }
    const m = median(runs);
    const lines = [
      '## query',
      '',
      `Data: the \`bench correlate\` database (scale ${opts.scale.toLocaleString('en')}, ${data.lines.toLocaleString('en')} audit lines) with ${total.toLocaleString('en')} access rows; project ${busiest.id} has ${busiest.n.toLocaleString('en')} of them.`,
      `Machine: ${machineLine()}`,
      '',
      '| measure | value | target |',
      '| --- | --- | --- |',
      `| \`queryAccesses({project: ${busiest.id}, from: ${from}, to: ${to}, limit: 1000})\`, median of 25 (${rows} rows) | ${m.toFixed(1)} ms | < 50 ms ${m < 50 ? '✅' : '❌'} |`,
      byPath ? `| same with \`--project ${byPath}\` (path resolved), median of 11 | ${median(pathRuns).toFixed(1)} ms | |` : null,
      `| full scan of every access row (baseline, ${scanned.toLocaleString('en')} rows), median of 3 | ${median(scanRuns).toFixed(0)} ms | |`,
      `| full scan / filtered query | ${(median(scanRuns) / m).toFixed(0)} × | |`,
      '',
      'Measured in-process (no process start), rows consumed from the streaming iterator.',
      '',
      'Command: `npm run bench -- query' + (opts.scale !== 1_000_000 ? ` --scale ${opts.scale}` : '') + '`',
      '',
    ].filter((l): l is string => l !== null);
    writeFileSync(join(opts.resultsDir, 'query.md'), lines.join('\n') + '\n');
    process.stderr.write(lines.join('\n') + '\n');
  } finally {
    await handle.close();
  }
}
