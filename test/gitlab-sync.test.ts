/**
 * The incremental GitLab sync (real SQLite, real HTTP to the fake server): multi-page listings, child
 * pipelines, retried jobs, the cheap second run, a pipeline updated after the cursor, a pipeline updated
 * while the listing is read, --since, and one failing project not costing the others their progress.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase, type KeytrailDb } from '../db/index.js';
import { startFakeGitlab, syntheticState, type FakeGitlab, type SyntheticOptions } from '../sim/fake-gitlab/index.js';
import { createGitlabClient, GitlabAuthError, syncGitlab, type SyncOptions } from '../ingest/gitlab/index.js';
import { tempDir } from './helpers/cli.js';

const TOKEN = 'glpat-sync-test-0003';

interface Env {
  server: FakeGitlab;
  handle: KeytrailDb;
  sync(opts: SyncOptions, token?: string): ReturnType<typeof syncGitlab>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(state: SyntheticOptions): Promise<Env> {
  const { dir, cleanup } = tempDir();
  const server = await startFakeGitlab({ state: syntheticState({ token: TOKEN, ...state }) });
  const handle = await openDatabase(join(dir, 'k.db'));
  cleanups.push(cleanup, () => server.close(), () => handle.close());
  return {
    server,
    handle,
    sync: (opts, token = TOKEN) =>
      syncGitlab(
        handle.db,
        createGitlabClient({ url: server.url, auth: { kind: 'private-token', token }, retry: { backoffBaseMs: 5, backoffMaxMs: 20, maxRetries: 2 } }),
        opts,
      ),
  };
}

const count = (h: KeytrailDb, sql: string) => (h.sqlite.prepare(sql).get() as { n: number }).n;

describe('GitLab sync', () => {
  it('stores multi-page pipelines and jobs, child pipelines and retried jobs', async () => {
    const env = await setup({ projects: 2, pipelinesPerProject: 5, jobsPerPipeline: 3, childEvery: 2, retriedEvery: 2 });
    const summary = await env.sync({ projects: ['100', 'acme/app-1'], perPage: 2 });
    expect(summary).toMatchObject({ projects: 2, pipelines: 14, jobs: 42, skipped: 0 });
    expect(summary.requests).toBe(env.server.requests.count);

    const h = env.handle;
    expect(count(h, 'select count(*) n from gitlab_pipelines where source = \'parent_pipeline\'')).toBe(4);
    expect(count(h, 'select count(*) n from gitlab_jobs where pipeline_source = \'parent_pipeline\'')).toBe(8);
    // Retried: the older job-0 of every second pipeline, replaced by a newer job of the same name.
    const retried = h.sqlite.prepare('select id, name, status, pipeline_id from gitlab_jobs where retried = 1 order by id').all() as { name: string; status: string }[];
    expect(retried).toHaveLength(4);
    expect(retried.every((j) => j.name === 'job-0' && j.status === 'failed')).toBe(true);

    const job = h.sqlite.prepare('select * from gitlab_jobs where id = 100000').get() as Record<string, unknown>;
    expect(job).toMatchObject({ id: 100000, project_id: 100, pipeline_id: 1000, pipeline_source: 'push', user_login: 'alice', runner_ip: '10.0.0.1', runner_id: 7, stage: 'test', name: 'job-0', retried: 0 });
    expect(job.started_at).toBe('2026-03-02T08:00:05.000Z');
    const raw = JSON.parse(String(job.raw)) as Record<string, unknown>;
    expect(raw.id).toBe(100000);
    expect(raw).not.toHaveProperty('_retried');
    expect(count(h, 'select count(*) n from gitlab_projects')).toBe(2);

    // Multi-page: pipelines were read with a moving updated_after; a pipeline's jobs took several pages.
    const paths = env.server.requests.log.map((r) => r.path);
    expect(paths.filter((p) => p.startsWith('/projects/100/pipelines?')).some((p) => p.includes('updated_after='))).toBe(true);
    expect(paths).toContain('/projects/100/pipelines/1001/jobs?include_retried=true&page=2&per_page=2');
  });

  it('costs two requests per project on a second run with nothing new (paths resolved once)', async () => {
    const env = await setup({ projects: 3, pipelinesPerProject: 4, jobsPerPipeline: 2, childEvery: 2 });
    await env.sync({ projects: ['acme/app-0', 'acme/app-1', '102'] });
    env.server.requests.reset();
    const second = await env.sync({ projects: ['acme/app-0', 'acme/app-1', '102'] });
    expect(second).toEqual({ projects: 3, pipelines: 0, jobs: 0, requests: 6, skipped: 0 });
    expect(env.server.requests.log.every((r) => /^\/projects\/\d+\/pipelines\?/.test(r.path))).toBe(true);

    env.server.requests.reset();
    const byGroup = await env.sync({ group: { path: 'acme', includeSubgroups: true } });
    expect(byGroup).toMatchObject({ projects: 3, pipelines: 0, jobs: 0, requests: 1 + 6 });
  });

  it('fetches again only the jobs of a pipeline updated after the cursor', async () => {
    const env = await setup({ projects: 2, pipelinesPerProject: 3, jobsPerPipeline: 2 });
    await env.sync({ projects: ['100', '101'] });
    // Pipeline 1001: job-1 is retried (a newer job-1 replaces it) and the pipeline's updated_at moves on.
    env.server.update((s) => {
      const p = s.pipelines.find((x) => x.id === 1001)!;
      p.updated_at = '2026-03-05T12:00:00.000Z';
      const old = s.jobs.find((j) => j.id === 100003)!;
      old._retried = true;
      s.jobs.push({ ...old, id: 200000, status: 'success', _retried: false });
    });
    env.server.requests.reset();
    const run = await env.sync({ projects: ['100', '101'] });
    expect(run).toMatchObject({ pipelines: 1, jobs: 3, requests: 5, skipped: 0 });
    expect(env.server.requests.log.filter((r) => r.path.includes('/jobs')).map((r) => r.path)).toEqual([
      '/projects/100/pipelines/1001/jobs?include_retried=true&page=1&per_page=100',
    ]);
    const rows = env.handle.sqlite.prepare('select id, retried from gitlab_jobs where pipeline_id = 1001 order by id').all();
    expect(rows).toEqual([
      { id: 100002, retried: 0 },
      { id: 100003, retried: 1 },
      { id: 200000, retried: 0 },
    ]);
    expect(env.handle.sqlite.prepare("select updated_after from gitlab_sync_cursors where project_id = 100 and listing = 'plain'").get()).toEqual({
      updated_after: '2026-03-05T12:00:00.000Z',
    });
  });

  it('misses nothing when a pipeline is updated while its listing is being read', async () => {
    const env = await setup({ projects: 1, pipelinesPerProject: 5, jobsPerPipeline: 1 });
    // Between page 1 and page 2, pipeline 1000 (already read) is updated and jumps to the end of the order.
    // Offset paging would now skip 1002; seeking by updated_at does not.
    env.server.schedule({
      type: 'delay',
      delayMs: 0,
      match: /^\/projects\/100\/pipelines\?(order_by|updated_after)/,
      after: 1,
      action: () =>
        env.server.update((s) => {
          s.pipelines.find((p) => p.id === 1000)!.updated_at = '2026-03-09T00:00:00.000Z';
        }),
    });
    const run = await env.sync({ projects: ['100'], perPage: 2 });
    expect(run.skipped).toBe(0);
    const ids = (env.handle.sqlite.prepare('select id from gitlab_pipelines order by id').all() as { id: number }[]).map((r) => r.id);
    expect(ids).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect(env.handle.sqlite.prepare('select updated_at from gitlab_pipelines where id = 1000').get()).toEqual({ updated_at: '2026-03-09T00:00:00.000Z' });
  });

  it('gets past more than a page of pipelines updated in the same millisecond', async () => {
    const env = await setup({ projects: 1, pipelinesPerProject: 5, jobsPerPipeline: 1 });
    env.server.update((s) => {
      for (const p of s.pipelines) p.updated_at = '2026-03-03T00:00:00.000Z';
    });
    const run = await env.sync({ projects: ['100'], perPage: 2 });
    expect(run).toMatchObject({ pipelines: 5, jobs: 5, skipped: 0 });
  });

  it('bounds the first backfill with --since', async () => {
    const env = await setup({ projects: 1, pipelinesPerProject: 6, jobsPerPipeline: 1, start: '2026-03-01T23:20:00.000Z' });
    // Pipelines every 10 minutes from 23:20, each updated 2 minutes after creation: 00:02 and 00:12 are after midnight.
    const run = await env.sync({ projects: ['100'], since: '2026-03-02' });
    expect(run.pipelines).toBe(2);
    expect((env.handle.sqlite.prepare('select min(updated_at) m from gitlab_pipelines').get() as { m: string }).m).toBe('2026-03-02T00:02:00.000Z');
    expect(env.server.requests.log[1]!.path).toContain('updated_after=2026-03-02T00%3A00%3A00.000Z');
  });

  it('keeps the other projects’ progress when one fails, and resumes the failed one next run', async () => {
    const env = await setup({ projects: 2, pipelinesPerProject: 4, jobsPerPipeline: 2 });
    // Project 101 has pipelines 1004..1007: the jobs of 1005 cannot be read.
    env.server.schedule({ type: '500', match: '/projects/101/pipelines/1005/jobs', times: Infinity });
    const first = await env.sync({ projects: ['100', '101'] });
    expect(first.skipped).toBe(1);
    expect(first.projects).toBe(2);
    const h = env.handle;
    expect(count(h, 'select count(*) n from gitlab_jobs where project_id = 100')).toBe(8);
    expect(count(h, 'select count(*) n from gitlab_pipelines where id = 1005')).toBe(0);
    const cursor = (id: number) =>
      (h.sqlite.prepare("select updated_after from gitlab_sync_cursors where project_id = ? and listing = 'plain'").get(id) as { updated_after: string }).updated_after;
    const pipelineUpdated = (id: number) => syntheticState({ projects: 2, pipelinesPerProject: 4 }).pipelines!.find((p) => p.id === id)!.updated_at;
    expect(cursor(101)).toBe(pipelineUpdated(1004));
    expect(cursor(100)).toBe(pipelineUpdated(1003));

    env.server.clearFaults();
    env.server.requests.reset();
    const second = await env.sync({ projects: ['100', '101'] });
    expect(second.skipped).toBe(0);
    expect(count(h, 'select count(*) n from gitlab_jobs where project_id = 101')).toBe(8);
    // Pipelines committed before the failure are not fetched again: only 1005's jobs are.
    expect(env.server.requests.log.filter((r) => r.path.includes('/jobs')).map((r) => r.path)).toEqual([
      '/projects/101/pipelines/1005/jobs?include_retried=true&page=1&per_page=100',
    ]);
    expect(cursor(101)).toBe(pipelineUpdated(1007));
  });

  it('stops the whole run on 401', async () => {
    const env = await setup({ projects: 1 });
    await expect(env.sync({ projects: ['100'] }, 'glpat-wrong')).rejects.toBeInstanceOf(GitlabAuthError);
  });
});
