/**
 * `keytrail ingest gitlab` end to end: the built CLI in a child process against the fake GitLab on loopback
 * (in this process, or started from a state directory by serve.js).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { openDatabase } from '../db/index.js';
import { startFakeGitlab, syntheticState, type FakeGitlab } from '../sim/fake-gitlab/index.js';

const TOKEN = 'glpat-cli-e2e-SECRET-0005';
const OAUTH = 'oauth-cli-e2e-SECRET-0006';
let server: FakeGitlab;
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  server = await startFakeGitlab({
    state: syntheticState({ projects: 3, pipelinesPerProject: 4, jobsPerPipeline: 2, childEvery: 2, retriedEvery: 2, token: TOKEN, oauthToken: OAUTH }),
  });
  tmp = tempDir();
});
afterAll(async () => {
  await server.close();
  tmp.cleanup();
});

const env = (extra: Record<string, string | undefined> = {}) => ({ GITLAB_TOKEN: TOKEN, GITLAB_OAUTH_TOKEN: undefined, ...extra });
const json = (stdout: string) => JSON.parse(stdout.trim()) as Record<string, number>;

describe('keytrail ingest gitlab', () => {
  it('syncs a group and prints the summary; a second run costs one group listing plus two requests per project', async () => {
    const db = join(tmp.dir, 'group.db');
    const args = ['--db', db, 'ingest', 'gitlab', '--url', server.url, '--group', 'acme', '--include-subgroups', '--format', 'json'];
    const first = await runCli(args, { env: env() });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    const summary = json(first.stdout);
    expect(Object.keys(summary)).toEqual(['projects', 'pipelines', 'jobs', 'requests', 'skipped']);
    expect(summary).toMatchObject({ projects: 3, pipelines: 18, jobs: 42, skipped: 0 });
    const second = await runCli(args, { env: env() });
    expect(json(second.stdout)).toEqual({ projects: 3, pipelines: 0, jobs: 0, requests: 1 + 3 * 2, skipped: 0 });
  });

  it('without --include-subgroups leaves the subgroup out', async () => {
    const res = await runCli(['--db', join(tmp.dir, 'top.db'), 'ingest', 'gitlab', '--url', server.url, '--group', 'acme', '--format', 'json'], { env: env() });
    expect(json(res.stdout).projects).toBe(2);
  });

  it('says which variable to set when the token is missing or rejected', async () => {
    const args = ['--db', join(tmp.dir, 'auth.db'), 'ingest', 'gitlab', '--url', server.url, '--project', 'acme/app-0'];
    const missing = await runCli(args, { env: env({ GITLAB_TOKEN: undefined }) });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('GITLAB_TOKEN');
    const rejected = await runCli(args, { env: env({ GITLAB_TOKEN: 'glpat-revoked' }) });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr.trim()).toMatch(/^keytrail: GitLab rejected the token in GITLAB_TOKEN \(401 Unauthorized\)/);
    expect(rejected.stderr).not.toContain('glpat-revoked');
    const oauth = await runCli(args, { env: env({ GITLAB_TOKEN: undefined, GITLAB_OAUTH_TOKEN: 'expired-oauth' }) });
    expect(oauth.code).toBe(1);
    expect(oauth.stderr).toContain('GITLAB_OAUTH_TOKEN');
    const good = await runCli([...args, '--format', 'json'], { env: env({ GITLAB_TOKEN: undefined, GITLAB_OAUTH_TOKEN: OAUTH }) });
    expect(good.code, good.stderr).toBe(0);
  });

  it('rejects a missing or doubled mode as a usage error', async () => {
    const base = ['--db', join(tmp.dir, 'usage.db'), 'ingest', 'gitlab', '--url', server.url];
    expect((await runCli(base, { env: env() })).code).toBe(2);
    expect((await runCli([...base, '--group', 'acme', '--jobs-from-audit'], { env: env() })).code).toBe(2);
    expect((await runCli([...base, '--project', '1', '--include-subgroups'], { env: env() })).code).toBe(2);
  });

  it('reads gitlab.concurrency from the config', async () => {
    const config = join(tmp.dir, 'bad.yaml');
    writeFileSync(config, 'gitlab:\n  concurrency: 0\n');
    const res = await runCli(['--db', join(tmp.dir, 'cfg.db'), '--config', config, 'ingest', 'gitlab', '--url', server.url, '--project', '100'], { env: env() });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('gitlab.concurrency');
  });

  it('never writes the token to a log line (even with --verbose, retries and errors) or to the database', async () => {
    const db = join(tmp.dir, 'secret.db');
    server.schedule({ type: '429', match: '/projects/101/pipelines?', retryAfter: 1 });
    server.schedule({ type: '500', match: '/projects/100/pipelines/1000/jobs' });
    server.schedule({ type: 'drop', match: '/projects/102' });
    const sync = await runCli(['--db', db, '--verbose', 'ingest', 'gitlab', '--url', server.url, '--project', '100', '--project', 'acme/app-1', '--project', 'acme/infra/app-2', '--format', 'json'], {
      env: env(),
    });
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toContain('rate limit');
    const handle = await openDatabase(db);
    await handle.db
      .insertInto('audit_entries')
      .values({ type: 'request', time: '2026-03-02T09:00:00Z', time_key: '2026-03-02T09:00:00.000000000Z', response_error: 0, metadata: JSON.stringify({ job_id: '424242', project_id: '100' }) })
      .execute();
    await handle.close();
    const lookup = await runCli(['--db', db, '--verbose', 'ingest', 'gitlab', '--url', server.url, '--jobs-from-audit', '--format', 'json'], { env: env() });
    expect(json(lookup.stdout)).toMatchObject({ jobs: 0, requests: 1, skipped: 0 });
    expect(Object.keys(json(lookup.stdout))).toEqual(['projects', 'pipelines', 'jobs', 'requests', 'skipped']);
    const again = await runCli(['--db', db, '--verbose', 'ingest', 'gitlab', '--url', server.url, '--jobs-from-audit', '--format', 'json'], { env: env() });
    expect(json(again.stdout)).toMatchObject({ requests: 0 });

    for (const out of [sync, lookup, again]) {
      expect(out.stderr).not.toContain(TOKEN);
      expect(out.stdout).not.toContain(TOKEN);
    }
    for (const suffix of ['', '-wal', '-shm']) {
      const file = db + suffix;
      if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(TOKEN))).toBe(false);
    }
    const check = await openDatabase(db, { readonly: true });
    expect(check.sqlite.prepare('select count(*) n from gitlab_jobs').get()).toEqual({ n: 42 });
    await check.close();
  });

  it('syncs from a state directory served by serve.js', async () => {
    const state = syntheticState({ projects: 1, pipelinesPerProject: 2, jobsPerPipeline: 2, token: TOKEN });
    const dir = join(tmp.dir, 'sim', 'gitlab');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'server.json'), JSON.stringify({ tokens: [TOKEN], oauth_tokens: [] }));
    writeFileSync(join(dir, 'groups.json'), JSON.stringify(state.groups));
    writeFileSync(join(dir, 'projects.json'), JSON.stringify(state.projects));
    writeFileSync(join(dir, 'pipelines.ndjson'), state.pipelines!.map((p) => JSON.stringify(p)).join('\n'));
    writeFileSync(join(dir, 'jobs.ndjson'), state.jobs!.map((j) => JSON.stringify(j)).join('\n'));
    const child = spawn(process.execPath, [resolve(import.meta.dirname, '../dist/sim/fake-gitlab/serve.js'), '--state', join(tmp.dir, 'sim')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((res) => createInterface({ input: child.stdout! }).once('line', res));
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await runCli(['--db', join(tmp.dir, 'served.db'), 'ingest', 'gitlab', '--url', `${url}/`, '--project', 'acme/app-0', '--format', 'json'], { env: env() });
      expect(json(res.stdout)).toMatchObject({ projects: 1, pipelines: 2, jobs: 4, skipped: 0 });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
