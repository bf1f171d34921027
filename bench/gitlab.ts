/**
 * `npm run bench -- gitlab`: sync 200 projects × 50 pipelines × 10 jobs from the fake GitLab (its own process,
 * 20 ms latency per request) into a fresh SQLite database, with the default concurrency (4).
 *
 * Reported against what pagination allows: the minimum number of requests is the group listing pages, plus
 * per project one page per 100 plain pipelines and per 100 child pipelines (at least one each: the sync cannot
 * know there are none without asking), plus per pipeline one page per 100 jobs. The time baseline is that
 * minimum × latency ÷ concurrency: what a sync that only ever waited on the network would take.
 * Targets: requests ≤ 1.05 × minimum; requests in flight never above the concurrency.
 * A second run (nothing new) is measured too: at most 2 requests per project plus the group listing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { machineLine, type BenchOptions } from './run.js';
import { openDatabase } from '../db/index.js';
import { createGitlabClient, syncGitlab } from '../ingest/gitlab/index.js';
import { syntheticState } from '../sim/fake-gitlab/synthetic.js';

export interface GitlabBenchOptions extends BenchOptions {
  projects?: number;
  pipelinesPerProject?: number;
  jobsPerPipeline?: number;
  latencyMs?: number;
  concurrency?: number;
}

const TOKEN = 'glpat-bench-0000000000000000';

async function writeLines(path: string, items: unknown[]): Promise<void> {
  const out = createWriteStream(path);
  for (const item of items) if (!out.write(JSON.stringify(item) + '\n')) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/** Writes the state directory once per shape (the generation is not what is measured). */
async function prepareState(dir: string, shape: { projects: number; pipelinesPerProject: number; jobsPerPipeline: number }): Promise<void> {
  const marker = join(dir, 'shape.json');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === JSON.stringify(shape)) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'gitlab'), { recursive: true });
  const state = syntheticState({ ...shape, token: TOKEN, childEvery: 0, retriedEvery: 0 });
  writeFileSync(join(dir, 'gitlab', 'server.json'), JSON.stringify({ tokens: state.tokens, oauth_tokens: [] }));
  writeFileSync(join(dir, 'gitlab', 'groups.json'), JSON.stringify(state.groups));
  writeFileSync(join(dir, 'gitlab', 'projects.json'), JSON.stringify(state.projects));
  await writeLines(join(dir, 'gitlab', 'pipelines.ndjson'), state.pipelines ?? []);
  await writeLines(join(dir, 'gitlab', 'jobs.ndjson'), state.jobs ?? []);
  writeFileSync(marker, JSON.stringify(shape));
}

async function startServer(stateDir: string, latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const script = resolve(import.meta.dirname, '../sim/fake-gitlab/serve.js');
  const child = spawn(process.execPath, [script, '--state', stateDir, '--latency', String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    child.once('exit', (code) => rej(new Error(`fake GitLab exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', res);
  });
  return { url, child };
}

export async function run(opts: GitlabBenchOptions): Promise<void> {
  const shape = { projects: opts.projects ?? 200, pipelinesPerProject: opts.pipelinesPerProject ?? 50, jobsPerPipeline: opts.jobsPerPipeline ?? 10 };
  const latencyMs = opts.latencyMs ?? 20;
  const concurrency = opts.concurrency ?? 4;
  const stateDir = join(opts.dataDir, 'gitlab-state');
  await prepareState(stateDir, shape);
  const dbPath = join(opts.dataDir, 'gitlab-bench.db');
  for (const s of ['', '-wal', '-shm']) rmSync(dbPath + s, { force: true });

  const perPage = 100;
  const pages = (n: number) => Math.max(1, Math.ceil(n / perPage));
  const groupPages = Math.ceil(shape.projects / perPage);
  const minimum = groupPages + shape.projects * (pages(shape.pipelinesPerProject) + pages(0) + shape.pipelinesPerProject * pages(shape.jobsPerPipeline));
  const minimumSecond = groupPages + shape.projects * 2;

  const { url, child } = await startServer(stateDir, latencyMs);
  const handle = await openDatabase(dbPath);
  try {
    const client = createGitlabClient({ url, auth: { kind: 'private-token', token: TOKEN }, concurrency });
    const t0 = process.hrtime.bigint();
    const first = await syncGitlab(handle.db, client, { group: { path: 'acme', includeSubgroups: true }, concurrency });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const c2 = createGitlabClient({ url, auth: { kind: 'private-token', token: TOKEN }, concurrency });
    const t1 = process.hrtime.bigint();
    const second = await syncGitlab(handle.db, c2, { group: { path: 'acme', includeSubgroups: true }, concurrency });
    const seconds2 = Number(process.hrtime.bigint() - t1) / 1e9;

    const expectedJobs = shape.projects * shape.pipelinesPerProject * shape.jobsPerPipeline;
    const idealSeconds = (minimum * latencyMs) / 1000 / concurrency;
    const ratio = first.requests / minimum;
    const lines = [
      '## gitlab — GitLab sync',
      '',
      `Workload: ${shape.projects} projects × ${shape.pipelinesPerProject} pipelines × ${shape.jobsPerPipeline} jobs (${expectedJobs} jobs) from the fake GitLab in its own process, ${latencyMs} ms latency per request, concurrency ${concurrency}, --group with subgroups, fresh SQLite database.`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| jobs stored | ${first.jobs} (pipelines ${first.pipelines}, projects ${first.projects}, skipped ${first.skipped}) |`,
      `| wall time | ${seconds.toFixed(1)} s |`,
      `| throughput | ${Math.round(first.jobs / seconds)} jobs/s |`,
      `| requests made | ${first.requests} |`,
      `| minimum requests pagination allows | ${minimum} |`,
      `| **requests / minimum** | **${ratio.toFixed(3)}** (target ≤ 1.05: ${ratio <= 1.05 ? 'met' : 'NOT met'}) |`,
      `| peak requests in flight | ${client.peakConcurrency} (bound ${concurrency}: ${client.peakConcurrency <= concurrency ? 'met' : 'NOT met'}) |`,
      `| network-bound baseline (minimum × latency ÷ concurrency) | ${idealSeconds.toFixed(1)} s; measured / baseline = ${(seconds / idealSeconds).toFixed(2)} |`,
      `| second run, nothing new | ${second.requests} requests (limit ${minimumSecond}: ${second.requests <= minimumSecond ? 'met' : 'NOT met'}), ${second.jobs} jobs, ${seconds2.toFixed(1)} s |`,
      '',
      `Machine: ${machineLine()}.`,
      '',
    ];
    writeFileSync(join(opts.resultsDir, 'gitlab.md'), lines.join('\n'));
    process.stderr.write(lines.join('\n'));
    if (first.jobs !== expectedJobs) throw new Error(`bench: expected ${expectedJobs} jobs, stored ${first.jobs}`);
  } finally {
    await handle.close();
    child.kill('SIGTERM');
  }
}
