/**
 * `npm run bench -- detect [--scale LINES]`: every detection rule over a simulated organisation's audit logs
 * (`sim/simulate` with its anomalies, ingested and correlated here), against the correlate time of the same
 * data measured in the same run.
 *
 * Targets: detection time ≤ 1.0 × correlate time; a second detection run with nothing new < 1 s.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineLine, type BenchOptions } from './run.js';
import { ingestAll, prepareSimulation, storeSimulatedGitlab } from './correlate.js';
import { openDatabase } from '../db/index.js';
import { correlate } from '../correlate/index.js';
import { loadConfig } from '../cli/config.js';
import { runDetections, type DetectionSettings } from '../reports/detect/index.js';

export async function run(opts: BenchOptions): Promise<void> {
  const data = await prepareSimulation(opts);
  const config = loadConfig(join(data.simDir, 'keytrail.yaml'));
  const settings: DetectionSettings = { detections: config.detections, correlation: config.correlation };
  const dbPath = join(opts.dataDir, 'detect.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  const handle = await openDatabase(dbPath);
  try {
    await storeSimulatedGitlab(handle, data.simDir);
    await ingestAll(handle, data);
    const t0 = performance.now();
    const summary = await correlate(handle, data.settings);
    const correlateSeconds = (performance.now() - t0) / 1000;

    const perRule: Array<{ rule: string; ms: number; evidence: number; findings: number }> = [];
    const logger = {
      debug: (obj: object) => {
        const o = obj as { rule?: string; ms?: number; evidence?: number; findings?: number };
        if (o.rule) perRule.push({ rule: o.rule, ms: o.ms ?? 0, evidence: o.evidence ?? 0, findings: o.findings ?? 0 });
      },
      info: () => {},
    };
    const t1 = performance.now();
    const first = await runDetections(handle, settings, { logger, force: true });
    const detectSeconds = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    const second = await runDetections(handle, settings);
    const secondSeconds = (performance.now() - t2) / 1000;
    const ratio = detectSeconds / correlateSeconds;
    const slowest = [...perRule].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const lines = [
      '## detect',
      '',
      `Data: \`sim/simulate\` seed 7, scale ${opts.scale.toLocaleString('en')} → ${data.lines.toLocaleString('en')} audit lines (anomalies on), ingested and correlated in this run (${summary.requests.toLocaleString('en')} requests, ${summary.tokens.toLocaleString('en')} tokens).`,
      `Machine: ${machineLine()}`,
      '',
      '| measure | value | target |',
      '| --- | --- | --- |',
      `| correlate of the same data (baseline) | ${correlateSeconds.toFixed(2)} s | |`,
      `| all ${first.rules} rules, full evaluation (${first.findings} findings, ${first.new} new) | ${detectSeconds.toFixed(2)} s | |`,
      `| detect / correlate | ${ratio.toFixed(3)} | ≤ 1.0 ${ratio <= 1 ? '✅' : '❌'} |`,
      `| second run, nothing new (evaluated: ${second.evaluated}) | ${(secondSeconds * 1000).toFixed(0)} ms | < 1 s ${secondSeconds < 1 ? '✅' : '❌'} |`,
      '',
      `Slowest rules: ${slowest.map((r) => `${r.rule} ${r.ms} ms`).join(', ')}.`,
      '',
      'Command: `npm run bench -- detect' + (opts.scale !== 1_000_000 ? ` --scale ${opts.scale}` : '') + '`',
      '',
    ];
    writeFileSync(join(opts.resultsDir, 'detect.md'), lines.join('\n'));
    process.stderr.write(lines.join('\n'));
  } finally {
    await handle.close();
  }
}
