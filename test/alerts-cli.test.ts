/**
 * The built CLI end to end: `keytrail alerts` (json and table, webhooks, exit codes, retry on the next run),
 * `keytrail query findings` (contract fields, filters, formats) and `keytrail findings resolve|reopen`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { buildOrg } from './fixtures/detect/org.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import { FINDING_FIELDS } from '../reports/detect/index.js';

let dir: string;
let cleanup: () => void;
let db: string;
let server: Server;
let url: string;
let mode: 'hang' | 'ok' = 'hang';
const accepted: Array<Record<string, unknown>> = [];
const hanging: ServerResponse[] = [];

const CONFIG = `
detections:
  runner_cidrs: ["10.20.0.0/16"]
  path_owners:
    "kv/data/payments/**": acme/payments-api
    "kv/data/shop/**": acme/web-shop
  production_paths: ["kv/data/prod/**"]
  mute:
    - rule: off-hours-human-access
      match: {path: "kv/data/prod/*"}
      reason: carol is on call on Sundays
      owner: security@acme.example
`;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('keytrail-alerts-cli-'));
  const org = buildOrg();
  const handle = await buildDatabase(dir, org.gitlab, [org.device]);
  await handle.close();
  db = join(dir, 'keytrail.db');
  writeFileSync(join(dir, 'keytrail.yaml'), CONFIG);
  server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      if (mode === 'hang') {
        hanging.push(res);
        return;
      }
      accepted.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts?token=s3cret`;
}, 150_000);

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  cleanup?.();
});

const env = { KEYTRAIL_WEBHOOK_TIMEOUT_MS: '300', KEYTRAIL_WEBHOOK_ATTEMPTS: '2', KEYTRAIL_WEBHOOK_BACKOFF_MS: '10', USER: 'dana' };
const cli = (...args: string[]) => runCli(['--db', db, ...args], { cwd: dir, env });
/** With a generous webhook timeout, for runs where the webhook answers (shared machines are slow). */
const cliPatient = (...args: string[]) => runCli(['--db', db, ...args], { cwd: dir, env: { ...env, KEYTRAIL_WEBHOOK_TIMEOUT_MS: '10000' } });

describe('keytrail alerts / query findings / findings', () => {
  let firstLines: Array<Record<string, unknown>> = [];

  it('alerts --format json prints one line per delivery; a webhook that never answers makes it exit 1', async () => {
    const r = await cli('alerts', '--format', 'json', '--webhook', url);
    expect(r.stderr).toMatch(/alert delivery failed/);
    expect(r.code).toBe(1);
    firstLines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(firstLines.length).toBeGreaterThan(20);
    for (const line of firstLines) {
      expect(Object.keys(line)).toEqual([...FINDING_FIELDS, 'event']);
      expect(line.event).toBe('new');
      expect(line.status).toBe('open');
    }
    // The muted finding is not delivered.
    expect(firstLines.some((l) => l.rule === 'off-hours-human-access')).toBe(false);
    expect(r.stderr).not.toContain('s3cret');
    // One timed-out delivery; the rest wait for the next run rather than each timing out.
    expect(r.stderr.match(/alert delivery failed/g)?.length).toBe(1);
    expect(r.stderr).toContain(`"failed":${firstLines.length}`);
    expect(r.stderr).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+\/alerts within 300 ms/);
  }, 150_000);

  it('the next run retries only the webhook; stdout prints nothing; exit 3 for the high findings delivered', async () => {
    mode = 'ok';
    const r = await cliPatient('alerts', '--format', 'json', '--webhook', url);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(3);
    expect(accepted.map((a) => a.id).sort()).toEqual(firstLines.map((l) => l.id).sort());
    const again = await cliPatient('alerts', '--format', 'json', '--webhook', url);
    expect(again.stdout).toBe('');
    expect(again.code).toBe(0);
    const table = await cli('alerts');
    expect(table.stdout).toBe('No new findings.\n');
    expect(table.code).toBe(0);
  }, 150_000);

  it('alerts refuses to run while a nightly run holds the lock (exit 1)', async () => {
    const lock = `${db}.lock`;
    writeFileSync(lock, `${process.pid}\n`);
    try {
      const r = await cli('alerts', '--format', 'json');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('another run is in progress');
      expect(r.stdout).toBe('');
    } finally {
      rmSync(lock, { force: true });
    }
  }, 150_000);

  it('query findings has exactly the contract fields and filters', async () => {
    const r = await cli('query', 'findings', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    expect(rows.length).toBe(firstLines.length + 1);
    for (const row of rows) expect(Object.keys(row)).toEqual([...FINDING_FIELDS]);
    const muted = rows.find((x) => x.rule === 'off-hours-human-access')!;
    expect(muted.status).toBe('muted');

    const late = JSON.parse((await cli('query', 'findings', '--rule', 'token-used-after-job', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ job_id: 5001, project_id: 101, path: 'kv/data/payments/db', severity: 'high', count: 1 });
    expect(typeof late[0]!.id).toBe('number');

    const byJob = JSON.parse((await cli('query', 'findings', '--job', '5005', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(byJob.map((x) => x.rule)).toContain('cross-project-access');
    expect(byJob.every((x) => x.job_id === 5005)).toBe(true);
    const byProject = JSON.parse((await cli('query', 'findings', '--project', 'acme/web-shop', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(byProject.length).toBeGreaterThan(0);
    expect(byProject.every((x) => x.project_id === 102)).toBe(true);
    const prod = JSON.parse((await cli('query', 'findings', '--path', 'kv/data/prod/*', '--severity', 'high', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(prod.map((x) => x.rule).sort()).toEqual(['unprotected-ref-prod-secret', 'untrusted-pipeline-source', 'untrusted-pipeline-source']);
    // Sunday only (--from and --to are inclusive UTC days): the Sunday-night findings, nothing of Monday.
    const sunday = JSON.parse((await cli('query', 'findings', '--from', '2026-03-01', '--to', '2026-03-01', '--format', 'json')).stdout) as Array<Record<string, unknown>>;
    expect(sunday.map((x) => x.rule)).toContain('off-hours-human-access');
    expect(sunday.every((x) => String(x.first_seen).startsWith('2026-03-01'))).toBe(true);
    const limited = (await cli('query', 'findings', '--limit', '2', '--format', 'ndjson')).stdout.trim().split('\n');
    expect(limited).toHaveLength(2);
    const csv = (await cli('query', 'findings', '--rule', 'token-multi-ip', '--format', 'csv')).stdout.split('\n');
    expect(csv[0]).toBe(FINDING_FIELDS.join(','));
    const table = await cli('query', 'findings', '--status', 'muted');
    expect(table.stdout).toContain('carol is on call on Sundays (security@acme.example)');
    expect((await cli('query', 'findings', '--rule', 'nope')).code).toBe(2);
  }, 150_000);

  it('findings resolve / reopen record triage; new evidence would re-open', async () => {
    const late = JSON.parse((await cli('query', 'findings', '--rule', 'token-used-after-job', '--format', 'json')).stdout) as Array<{ id: number }>;
    const id = String(late[0]!.id);
    const r = await cli('findings', 'resolve', id, '--note', 'revoked the token');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`finding ${id} (token-used-after-job) resolved`);
    const resolved = JSON.parse((await cli('query', 'findings', '--status', 'resolved', '--format', 'json')).stdout) as Array<{ id: number }>;
    expect(resolved.map((x) => x.id)).toEqual([Number(id)]);
    // Detection over the same data does not re-open it.
    expect((await cli('alerts', '--format', 'json')).stdout).toBe('');
    const reopen = await cli('findings', 'reopen', id, '--note', 'it was used again');
    expect(reopen.code).toBe(0);
    expect((await cli('findings', 'resolve', '99999', '--note', 'x')).code).toBe(1);
    expect((await cli('findings', 'resolve', id)).code).toBe(2);

    const { openDatabase } = await import('../db/index.js');
    const handle = await openDatabase(db);
    const triage = await handle.db.selectFrom('finding_triage').selectAll().where('finding_id', '=', Number(id)).orderBy('id').execute();
    await handle.close();
    expect(triage.map((t) => [t.action, t.actor, t.note])).toEqual([
      ['resolve', 'dana', 'revoked the token'],
      ['reopen', 'dana', 'it was used again'],
    ]);
  }, 150_000);
});
