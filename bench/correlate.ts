/**
 * `npm run bench -- correlate [--scale LINES]`: the correlator over a simulated organisation's audit logs
 * (`sim/simulate`, both devices on both nodes, its GitLab state and server logs), against the ingest of the
 * same data measured in the same run.
 *
 * Targets: correlate time ≤ 1.5 × ingest time; a second correlate with nothing new < 1 s.
 * The database is kept as bench/data/correlate.db for `bench query`.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { machineLine, type BenchOptions } from './run.js';
import { openDatabase, type KeytrailDb } from '../db/index.js';
import { ingestVaultFiles, ingestServerLogs } from '../ingest/index.js';
import { projectRow, pipelineRow, jobRow } from '../ingest/gitlab/rows.js';
import { upsertProjects, commitPage } from '../ingest/gitlab/store.js';
import { loadStateDir } from '../sim/fake-gitlab/index.js';
import { simulate } from '../sim/simulate/index.js';
import { correlate, type CorrelateSettings } from '../correlate/index.js';
import { parse as parseYaml } from 'yaml';

export interface PreparedData {
  simDir: string;
  auditFiles: string[];
  serverLogs: string[];
  lines: number;
  settings: CorrelateSettings;
}

/** Simulates (or reuses) an organisation of about `scale` audit lines. */
export async function prepareSimulation(opts: BenchOptions): Promise<PreparedData> {
  const simDir = join(opts.dataDir, `sim-${opts.scale}`);
  const marker = join(simDir, 'bench-done.json');
  if (!existsSync(marker)) {
    rmSync(simDir, { recursive: true, force: true });
    mkdirSync(simDir, { recursive: true });
    let result = await simulate({ outDir: simDir, seed: 7, scale: opts.scale, anomalies: 'all' });
    // The simulator's --scale is approximate: when it falls well short, ask once more for proportionally more.
    if (result.lines < opts.scale * 0.8) {
      rmSync(simDir, { recursive: true, force: true });
      mkdirSync(simDir, { recursive: true });
      result = await simulate({ outDir: simDir, seed: 7, scale: Math.round((opts.scale * opts.scale) / Math.max(1, result.lines)), anomalies: 'all' });
    }
    writeFileSync(marker, JSON.stringify({ lines: result.lines }));
  }
  const lines = (JSON.parse(readFileSync(marker, 'utf8')) as { lines: number }).lines;
  const auditFiles: string[] = [];
  const serverLogs: string[] = [];
  const vaultDir = join(simDir, 'vault');
  for (const node of readdirSync(vaultDir)) {
    const nodeDir = join(vaultDir, node);
    for (const entry of readdirSync(nodeDir)) {
      const p = join(nodeDir, entry);
      if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) auditFiles.push(join(p, f));
      else if (entry === 'server.log') serverLogs.push(p);
    }
  }
  const yaml = parseYaml(readFileSync(join(simDir, 'keytrail.yaml'), 'utf8')) as {
    roles?: Record<string, string>;
    correlation?: { clock_skew_seconds?: number; job_grace_seconds?: number };
    leases?: { default_ttl_seconds?: number; ttl_overrides?: Record<string, number> };
  };
  const settings: CorrelateSettings = {
    clockSkewSeconds: yaml.correlation?.clock_skew_seconds ?? 60,
    jobGraceSeconds: yaml.correlation?.job_grace_seconds ?? 300,
    defaultLeaseTtlSeconds: yaml.leases?.default_ttl_seconds ?? 2_764_800,
    ttlOverrides: yaml.leases?.ttl_overrides ?? {},
    roles: yaml.roles ?? {},
  };
  return { simDir, auditFiles, serverLogs, lines, settings };
}

/** Ingests the simulated audit files (device = the file's directory) and server logs; returns seconds. */
export async function ingestAll(handle: KeytrailDb, data: PreparedData): Promise<number> {
  const byDevice = new Map<string, string[]>();
  for (const f of data.auditFiles) {
    const device = basename(dirname(f));
    byDevice.set(device, [...(byDevice.get(device) ?? []), f]);
  }
  const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
  const t0 = performance.now();
  for (const [device, files] of byDevice) await ingestVaultFiles(handle, files, { device, logger: quiet as never });
  if (data.serverLogs.length) await ingestServerLogs(handle, data.serverLogs, { logger: quiet as never });
  return (performance.now() - t0) / 1000;
}

/** The simulated GitLab state, stored through the GitLab sync's own row builders and storage. */
export async function storeSimulatedGitlab(handle: KeytrailDb, simDir: string): Promise<number> {
  const state = await loadStateDir(simDir);
  const syncedAt = new Date().toISOString();
  await upsertProjects(handle.db, (state.projects ?? []).map((p) => projectRow(p, syncedAt)));
  const byProject = new Map<number, { pipelines: Record<string, unknown>[]; jobs: Record<string, unknown>[] }>();
  const slot = (id: number) => {
    let s = byProject.get(id);
    if (!s) byProject.set(id, (s = { pipelines: [], jobs: [] }));
    return s;
  };
  for (const p of state.pipelines ?? []) slot(Number(p.project_id)).pipelines.push(p);
  for (const j of state.jobs ?? []) slot(Number((j.pipeline as { project_id: number }).project_id)).jobs.push(j);
  for (const [projectId, s] of byProject) {
    await commitPage(handle.db, {
      projectId,
      listing: 'plain',
      pipelines: s.pipelines.map((p) => pipelineRow(p, syncedAt, true)),
      jobs: s.jobs.map((j) => jobRow(j, syncedAt, null)),
    });
  }
  return (state.jobs ?? []).length;
}

export async function run(opts: BenchOptions): Promise<void> {
  const data = await prepareSimulation(opts);
  const dbPath = join(opts.dataDir, 'correlate.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  const handle = await openDatabase(dbPath);
  try {
    const jobs = await storeSimulatedGitlab(handle, data.simDir);
    const ingestSeconds = await ingestAll(handle, data);
    const t0 = performance.now();
    const summary = await correlate(handle, data.settings);
    const correlateSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const second = await correlate(handle, data.settings);
    const secondSeconds = (performance.now() - t1) / 1000;
    const ratio = correlateSeconds / ingestSeconds;
    const lines = [
      '## correlate',
      '',
      `Data: \`sim/simulate\` seed 7, scale ${opts.scale.toLocaleString('en')} → ${data.lines.toLocaleString('en')} audit lines over ${data.auditFiles.length} files (2 devices × 2 nodes), ${jobs.toLocaleString('en')} GitLab jobs stored through the sync's storage functions.`,
      `Machine: ${machineLine()}`,
      '',
      '| measure | value | target |',
      '| --- | --- | --- |',
      `| ingest of the same files (baseline, in-process) | ${ingestSeconds.toFixed(2)} s | |`,
      `| correlate (first run, ${summary.requests.toLocaleString('en')} requests, ${summary.tokens.toLocaleString('en')} tokens) | ${correlateSeconds.toFixed(2)} s | |`,
      `| correlate / ingest | ${ratio.toFixed(2)} | ≤ 1.5 ${ratio <= 1.5 ? '✅' : '❌'} |`,
      `| second correlate, nothing new | ${(secondSeconds * 1000).toFixed(0)} ms (requests ${second.requests}) | < 1 s ${secondSeconds < 1 ? '✅' : '❌'} |`,
      '',
      `Summary of the first run: \`${JSON.stringify(summary)}\``,
      '',
      'Command: `npm run bench -- correlate' + (opts.scale !== 1_000_000 ? ` --scale ${opts.scale}` : '') + '`',
      '',
    ];
    writeFileSync(join(opts.resultsDir, 'correlate.md'), lines.join('\n'));
    writeFileSync(join(opts.dataDir, 'correlate.db.scale'), String(opts.scale));
    process.stderr.write(lines.join('\n'));
  } finally {
    await handle.close();
  }
}
