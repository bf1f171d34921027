/**
 * The GitLab client (gitbeaker resources over keytrail's own requester) against the fake server on loopback:
 * our retry policy runs instead of gitbeaker's (429 waits what Retry-After says, 5xx/dropped/slow requests are
 * retried with backoff and a bound), every request is counted, 401 is a distinct error, concurrency is bounded.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGitlab, syntheticState, type FakeGitlab } from '../sim/fake-gitlab/index.js';
import { createGitlabClient, GitlabAuthError, GitlabRequestError, type GitlabClientOptions } from '../ingest/gitlab/index.js';

const TOKEN = 'glpat-client-test-0002';
let server: FakeGitlab;

function client(extra: Partial<GitlabClientOptions> = {}) {
  return createGitlabClient({
    url: server.url,
    auth: { kind: 'private-token', token: TOKEN },
    retry: { backoffBaseMs: 20, backoffMaxMs: 100, timeoutMs: 2_000 },
    ...extra,
  });
}

beforeAll(async () => {
  server = await startFakeGitlab({ state: syntheticState({ projects: 2, pipelinesPerProject: 4, jobsPerPipeline: 3, token: TOKEN, oauthToken: 'oauth-token-xyz' }) });
});
afterAll(async () => server.close());
beforeEach(() => {
  server.clearFaults();
  server.requests.reset();
  server.setLatency(0);
});

describe('GitLab client', () => {
  it('pages through a listing with gitbeaker resources and counts requests', async () => {
    const c = client();
    const first = await c.pipelines(100, { page: 1, perPage: 3 });
    expect(first.items.map((p) => p.id)).toEqual([1000, 1001, 1002]);
    expect(first.nextPage).toBe(2);
    const second = await c.pipelines(100, { page: 2, perPage: 3 });
    expect(second.items.map((p) => p.id)).toEqual([1003]);
    expect(second.nextPage).toBeNull();
    expect(c.requests).toBe(2);
    expect(server.requests.log.map((r) => r.path)).toEqual([
      '/projects/100/pipelines?order_by=updated_at&sort=asc&page=1&per_page=3',
      '/projects/100/pipelines?order_by=updated_at&sort=asc&page=2&per_page=3',
    ]);
  });

  it('sends an OAuth token as Bearer', async () => {
    const c = client({ auth: { kind: 'oauth', token: 'oauth-token-xyz' } });
    expect((await c.project('acme/app-0')).id).toBe(100);
  });

  it('honours Retry-After on 429 instead of retrying blindly', async () => {
    server.schedule({ type: '429', match: '/projects/100/pipelines/1000', retryAfter: 1 });
    const c = client();
    const t0 = Date.now();
    const p = await c.pipeline(100, 1000);
    const elapsed = Date.now() - t0;
    expect(p.id).toBe(1000);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(15_000);
    // gitbeaker's own requester would have sent 10 requests in ~0.26 s.
    expect(server.requests.count).toBe(2);
    expect(c.requests).toBe(2);
  });

  it('honours RateLimit-Reset on a JSON 429 and holds other requests meanwhile', async () => {
    server.schedule({ type: '429', match: '/projects/100/jobs/100000', resetInSeconds: 1, jsonBody: true });
    let limited!: () => void;
    const rateLimited = new Promise<void>((r) => (limited = r));
    const c = client({ logger: { debug: () => {}, warn: () => limited() } });
    const t0 = Date.now();
    const first = c.job(100, 100000);
    // Once the client has seen the 429, start another request: it must wait for the reset too.
    await rateLimited;
    const other = c.job(100, 100001).then(() => Date.now() - t0);
    expect((await first).id).toBe(100000);
    expect(await other).toBeGreaterThanOrEqual(900);
    expect(server.requests.count).toBe(3);
  });

  it('retries a 500 and then succeeds', async () => {
    server.schedule({ type: '500', match: '/projects/101/pipelines/1004' });
    const c = client();
    expect((await c.pipeline(101, 1004)).id).toBe(1004);
    expect(server.requests.log.map((r) => r.status)).toEqual([500, 200]);
    expect(c.requests).toBe(2);
  });

  it('retries a 502 with our backoff (not gitbeaker’s ten-in-a-quarter-second)', async () => {
    server.schedule({ type: '502', match: '/projects/101', times: 2 });
    const c = client();
    expect((await c.project(101)).id).toBe(101);
    expect(server.requests.log.map((r) => r.status)).toEqual([502, 502, 200]);
    const gaps = server.requests.log.slice(1).map((r, i) => r.at - server.requests.log[i]!.at);
    expect(gaps.every((g) => g >= 10)).toBe(true);
  });

  it('retries a dropped connection', async () => {
    server.schedule({ type: 'drop', match: '/projects/100/pipelines/1001/jobs' });
    const c = client();
    const page = await c.pipelineJobs(100, 1001, { page: 1 });
    expect(page.items).toHaveLength(3);
    expect(server.requests.log.map((r) => r.status)).toEqual(['dropped', 200]);
    expect(c.requests).toBe(2);
  });

  it('times out a slow page and asks again', async () => {
    server.schedule({ type: 'delay', match: '/projects/100/pipelines/1002', delayMs: 5_000 });
    const c = client({ retry: { backoffBaseMs: 20, backoffMaxMs: 50, timeoutMs: 1_000 } });
    expect((await c.pipeline(100, 1002)).id).toBe(1002);
    expect(c.requests).toBe(2);
  });

  it('gives up after a bounded number of retries', async () => {
    server.schedule({ type: '500', match: '/projects/100/pipelines/1003', times: Infinity });
    const c = client({ retry: { backoffBaseMs: 5, backoffMaxMs: 10, maxRetries: 3 } });
    const err = await c.pipeline(100, 1003).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitlabRequestError);
    expect((err as GitlabRequestError).status).toBe(500);
    expect(c.requests).toBe(4);
  });

  it('reports 401 as an authentication error, without retrying', async () => {
    const c = client({ auth: { kind: 'private-token', token: 'glpat-wrong' } });
    const err = await c.project(100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitlabAuthError);
    expect(String((err as Error).message)).not.toContain('glpat-wrong');
    expect(c.requests).toBe(1);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server.setLatency(40);
    const c = client({ concurrency: 3 });
    const ids = Array.from({ length: 12 }, (_, i) => 100000 + i);
    const t0 = Date.now();
    await Promise.all(ids.map((id) => c.job(100, id)));
    expect(c.peakConcurrency).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4 * 40 - 5);
    expect(c.requests).toBe(12);
  });
});
