/**
 * The fake GitLab speaks the REST API the way gitbeaker and the sync expect: shapes of the public fixtures,
 * offset pagination headers (Link repeating every filter, sorted, absolute), no totals on the project jobs
 * list, GitLab's error bodies, application/json everywhere, state from a directory, faults on a schedule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeGitlab, syntheticState, type FakeGitlab } from '../sim/fake-gitlab/index.js';
import { tempDir } from './helpers/cli.js';

const TOKEN = 'glpat-fake-server-test-0001';
const FIXTURES = join(import.meta.dirname, 'fixtures/public/gitlab');

let server: FakeGitlab;
const get = (path: string, headers: Record<string, string> = { 'PRIVATE-TOKEN': TOKEN }) => fetch(`${server.url}/api/v4${path}`, { headers });

beforeAll(async () => {
  server = await startFakeGitlab({ state: syntheticState({ projects: 3, pipelinesPerProject: 5, jobsPerPipeline: 3, childEvery: 2, retriedEvery: 2, token: TOKEN, oauthToken: 'oauth-abc' }) });
});
afterAll(async () => server.close());

describe('fake GitLab server', () => {
  it('serves pipeline lists with GitLab offset pagination headers that repeat every filter', async () => {
    const res = await get('/projects/100/pipelines?updated_after=2026-03-01T00:00:00Z&order_by=updated_at&sort=asc&per_page=2');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { id: number; updated_at: string }[];
    expect(body).toHaveLength(2);
    expect(Object.keys(body[0]!).sort()).toEqual(Object.keys(JSON.parse(readFileSync(join(FIXTURES, 'list_project_pipelines.json'), 'utf8'))[0]).sort());
    expect(res.headers.get('x-page')).toBe('1');
    expect(res.headers.get('x-per-page')).toBe('2');
    expect(res.headers.get('x-next-page')).toBe('2');
    expect(res.headers.get('x-prev-page')).toBe('');
    expect(res.headers.get('x-total')).toBe('5');
    expect(res.headers.get('x-total-pages')).toBe('3');
    const link = res.headers.get('link')!;
    expect(link).toContain(
      `<${server.url}/api/v4/projects/100/pipelines?order_by=updated_at&page=2&per_page=2&sort=asc&updated_after=2026-03-01T00%3A00%3A00Z>; rel="next"`,
    );
    expect(link).toContain('rel="first"');
    expect(link).toContain('rel="last"');
    expect(body[0]!.updated_at < body[1]!.updated_at).toBe(true);
  });

  it('leaves child pipelines out unless source=parent_pipeline, and filters updated_after strictly', async () => {
    const plain = (await (await get('/projects/100/pipelines?per_page=100')).json()) as { source: string; updated_at: string }[];
    expect(plain.every((p) => p.source !== 'parent_pipeline')).toBe(true);
    const children = (await (await get('/projects/100/pipelines?source=parent_pipeline')).json()) as { source: string }[];
    expect(children.length).toBe(2);
    expect(children.every((p) => p.source === 'parent_pipeline')).toBe(true);
    const newest = plain.map((p) => p.updated_at).sort().at(-1)!;
    const after = (await (await get(`/projects/100/pipelines?updated_after=${encodeURIComponent(newest)}`)).json()) as unknown[];
    expect(after).toEqual([]);
  });

  it('shows a pipeline in the full shape, and pipeline jobs with and without retried ones', async () => {
    const pipeline = (await (await get('/projects/100/pipelines/1001')).json()) as Record<string, unknown>;
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'get_pipeline.json'), 'utf8')) as Record<string, unknown>;
    for (const key of Object.keys(fixture)) expect(pipeline).toHaveProperty(key);
    const withRetried = (await (await get('/projects/100/pipelines/1001/jobs?include_retried=true')).json()) as { id: number; _retried?: unknown }[];
    const without = (await (await get('/projects/100/pipelines/1001/jobs')).json()) as { id: number }[];
    expect(withRetried.length).toBe(without.length + 1);
    expect(withRetried.every((j) => !('_retried' in j))).toBe(true);
    expect(withRetried.map((j) => j.id)).toEqual([...withRetried.map((j) => j.id)].sort((a, b) => b - a));
  });

  it('serves the project jobs list without totals, as GitLab does', async () => {
    const res = await get('/projects/100/jobs?per_page=5');
    expect(res.headers.get('x-total')).toBeNull();
    expect(res.headers.get('x-total-pages')).toBeNull();
    expect(res.headers.get('x-next-page')).toBe('2');
    expect(res.headers.get('link')).not.toContain('rel="last"');
  });

  it('finds projects by id and by URL-encoded path, and group projects with subgroups', async () => {
    const byPath = (await (await get('/projects/acme%2Fapp-0')).json()) as { id: number };
    expect(byPath.id).toBe(100);
    const top = (await (await get('/groups/acme/projects')).json()) as unknown[];
    const all = (await (await get('/groups/acme/projects?include_subgroups=true')).json()) as unknown[];
    expect(top.length).toBe(2);
    expect(all.length).toBe(3);
  });

  it('answers errors with GitLab bodies and application/json', async () => {
    const unauth = await get('/projects/100', {});
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('content-type')).toBe('application/json');
    expect(await unauth.json()).toEqual({ message: '401 Unauthorized' });
    expect((await get('/projects/100', { Authorization: 'Bearer oauth-abc' })).status).toBe(200);
    expect(await (await get('/projects/999')).json()).toEqual({ message: '404 Project Not Found' });
    expect(await (await get('/projects/100/jobs/1')).json()).toEqual({ message: '404 Not found' });
    expect((await get('/projects/100/pipelines?order_by=bogus')).status).toBe(400);
  });

  it('injects 429 with Retry-After, 500 and dropped connections on a schedule', async () => {
    server.schedule({ type: '429', match: '/projects/101', retryAfter: 7 });
    server.schedule({ type: '500', match: '/projects/102', after: 1 });
    const limited = await get('/projects/101');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.text()).toBe('Retry later\n');
    expect((await get('/projects/101')).status).toBe(200);
    expect((await get('/projects/102')).status).toBe(200);
    expect((await get('/projects/102')).status).toBe(500);
    expect((await get('/projects/102')).status).toBe(200);
    server.schedule({ type: 'drop', match: '/projects/100' });
    await expect(get('/projects/100')).rejects.toThrow();
    expect(server.requests.log.at(-1)!.status).toBe('dropped');
  });

  it('loads a state directory and reloads it when it changes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const state = syntheticState({ projects: 1, pipelinesPerProject: 2, jobsPerPipeline: 1, token: TOKEN });
      const gl = join(dir, 'gitlab');
      mkdirSync(gl);
      writeFileSync(join(gl, 'server.json'), JSON.stringify({ tokens: [TOKEN], oauth_tokens: [] }));
      writeFileSync(join(gl, 'groups.json'), JSON.stringify(state.groups));
      writeFileSync(join(gl, 'projects.json'), JSON.stringify(state.projects));
      writeFileSync(join(gl, 'pipelines.ndjson'), state.pipelines!.map((p) => JSON.stringify(p)).join('\n') + '\n');
      writeFileSync(join(gl, 'jobs.ndjson'), state.jobs!.map((j) => JSON.stringify(j)).join('\n') + '\n');
      const fromDir = await startFakeGitlab({ stateDir: dir });
      try {
        const list = async () => (await (await fetch(`${fromDir.url}/api/v4/projects/100/pipelines`, { headers: { 'PRIVATE-TOKEN': TOKEN } })).json()) as unknown[];
        expect(await list()).toHaveLength(2);
        writeFileSync(join(gl, 'pipelines.ndjson'), JSON.stringify(state.pipelines![0]) + '\n');
        await fromDir.reload();
        expect(await list()).toHaveLength(1);
      } finally {
        await fromDir.close();
      }
    } finally {
      cleanup();
    }
  });
});
