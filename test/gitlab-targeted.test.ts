/**
 * `--jobs-from-audit`: jobs named by Vault data (job_id claims, fork claims, decimal correlation ids) that the
 * database does not hold are fetched; unknown and forbidden jobs are recorded and not asked again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase, type KeytrailDb } from '../db/index.js';
import { startFakeGitlab, syntheticState, type FakeGitlab } from '../sim/fake-gitlab/index.js';
import { createGitlabClient, syncGitlab, syncJobsFromAudit } from '../ingest/gitlab/index.js';
import { tempDir } from './helpers/cli.js';

const TOKEN = 'glpat-targeted-test-0004';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(): Promise<{ server: FakeGitlab; handle: KeytrailDb }> {
  const { dir, cleanup } = tempDir();
  // Projects 100/101/102; jobs 100000-100005 in 100, 100006-100011 in 101, 100012-100017 in 102.
  const state = syntheticState({ projects: 3, pipelinesPerProject: 3, jobsPerPipeline: 2, token: TOKEN });
  state.projects!.find((p) => p.id === 102)!._forbidden = true;
  const server = await startFakeGitlab({ state });
  const handle = await openDatabase(join(dir, 'k.db'));
  cleanups.push(cleanup, () => server.close(), () => handle.close());
  return { server, handle };
}

async function audit(handle: KeytrailDb, entries: { metadata?: Record<string, string>; correlation_id?: string }[]): Promise<void> {
  let n = 0;
  for (const e of entries) {
    const time = `2026-03-02T09:00:0${n++}.000000000Z`;
    await handle.db
      .insertInto('audit_entries')
      .values({ type: 'request', time, time_key: time, response_error: 0, metadata: e.metadata ? JSON.stringify(e.metadata) : null, correlation_id: e.correlation_id ?? null })
      .execute();
  }
}

const client = (server: FakeGitlab) => createGitlabClient({ url: server.url, auth: { kind: 'private-token', token: TOKEN } });

describe('GitLab jobs from audit data', () => {
  it('fetches the jobs Vault names, records unknown and forbidden ones, and does not ask again', async () => {
    const { server, handle } = await setup();
    await syncGitlab(handle.db, client(server), { projects: ['100'] });
    handle.sqlite.prepare('delete from gitlab_jobs where id = 100000').run();
    await audit(handle, [
      { metadata: { role: 'deploy', job_id: '100006', project_id: '101', pipeline_id: '1003' } },
      // The same token again: same metadata, one lookup.
      { metadata: { role: 'deploy', job_id: '100006', project_id: '101', pipeline_id: '1003' } },
      // Fork merge-request pipeline: project_id names the fork, job_project_id the project the job runs in.
      { metadata: { role: 'deploy', job_id: '100008', project_id: '102', job_project_id: '101' } },
      { metadata: { role: 'deploy', job_id: '999999', project_id: '100' } },
      { metadata: { role: 'deploy', job_id: '100012', project_id: '102' } },
      // Already stored: nothing to do.
      { metadata: { role: 'deploy', job_id: '100001', project_id: '100' } },
      // Correlation ids: a decimal job id without project claims, and a value that is not a job id.
      { correlation_id: '100000' },
      { correlation_id: 'req-7f3a' },
    ]);
    server.requests.reset();
    const first = await syncJobsFromAudit(handle.db, client(server), { concurrency: 2 });
    expect(first).toEqual({ projects: 1, pipelines: 2, jobs: 3, requests: 6, skipped: 0 });
    expect(server.requests.log.map((r) => r.path).sort()).toEqual(
      ['/projects/100/jobs/100000', '/projects/101', '/projects/101/jobs/100006', '/projects/101/jobs/100008', '/projects/100/jobs/999999', '/projects/102/jobs/100012'].sort(),
    );
    const lookups = handle.sqlite.prepare('select job_id, project_id, status, http_status, origin from gitlab_job_lookups order by job_id').all();
    expect(lookups).toEqual([
      { job_id: 100000, project_id: 100, status: 'found', http_status: 200, origin: 'correlation-id' },
      { job_id: 100006, project_id: 101, status: 'found', http_status: 200, origin: 'claim' },
      { job_id: 100008, project_id: 101, status: 'found', http_status: 200, origin: 'claim' },
      { job_id: 100012, project_id: null, status: 'forbidden', http_status: 403, origin: 'claim' },
      { job_id: 999999, project_id: null, status: 'not-found', http_status: 404, origin: 'claim' },
    ]);
    const job = handle.sqlite.prepare('select project_id, pipeline_id, user_login, runner_ip from gitlab_jobs where id = 100008').get();
    expect(job).toEqual({ project_id: 101, pipeline_id: 1004, user_login: expect.any(String), runner_ip: '10.0.0.1' });
    expect(handle.sqlite.prepare('select path_with_namespace from gitlab_projects where id = 101').get()).toEqual({ path_with_namespace: 'acme/app-1' });

    server.requests.reset();
    const second = await syncJobsFromAudit(handle.db, client(server));
    expect(second).toEqual({ projects: 0, pipelines: 0, jobs: 0, requests: 0, skipped: 0 });
    expect(server.requests.count).toBe(0);

    // A pipeline first seen through a lookup still gets all its jobs from the incremental sync.
    server.requests.reset();
    const sync = await syncGitlab(handle.db, client(server), { projects: ['101'] });
    expect(sync.jobs).toBe(6);
    expect(server.requests.log.filter((r) => r.path.includes('/pipelines/1003/jobs'))).toHaveLength(1);
  });

  it('records a transient failure so the next run asks again', async () => {
    const { server, handle } = await setup();
    await audit(handle, [{ metadata: { job_id: '100006', project_id: '101' } }]);
    server.schedule({ type: '500', match: '/projects/101/jobs/100006', times: Infinity });
    const failing = createGitlabClient({ url: server.url, auth: { kind: 'private-token', token: TOKEN }, retry: { backoffBaseMs: 5, backoffMaxMs: 10, maxRetries: 1 } });
    const first = await syncJobsFromAudit(handle.db, failing);
    expect(first).toMatchObject({ jobs: 0, skipped: 1, requests: 2 });
    expect(handle.sqlite.prepare('select status from gitlab_job_lookups').get()).toEqual({ status: 'error' });
    server.clearFaults();
    const second = await syncJobsFromAudit(handle.db, client(server));
    expect(second).toMatchObject({ jobs: 1, skipped: 0 });
    expect(handle.sqlite.prepare('select status, attempts from gitlab_job_lookups').get()).toEqual({ status: 'found', attempts: 2 });
  });
});
