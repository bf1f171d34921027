/**
 * Delivery exactly once per channel, over real HTTP on loopback: retries with backoff (a server failing twice
 * then accepting), a server that never answers (timeout, failed, retried on the next run), Slack blocks,
 * muted findings never sent, exit codes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir } from './helpers/cli.js';
import { AuditDevice, at, jobClaims, newToken } from './fixtures/detect/vault.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import type { KeytrailDb } from '../db/index.js';
import { defaultDetectionSettings, runAlerts, type AlertChannel, type DetectionSettings } from '../reports/detect/index.js';
import { RULE_IDS } from '../reports/detect/catalogue.js';

const T = '2026-03-02T10:00:00Z';
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Hook {
  url: string;
  /** 'ok' answers 200; 'fail' answers 500; 'hang' never answers. */
  mode: Array<'ok' | 'fail' | 'hang'>;
  received: Array<{ body: unknown; answered: number | null }>;
  accepted(): unknown[];
}

async function hook(mode: Hook['mode'] = []): Promise<Hook> {
  const pending: ServerResponse[] = [];
  const h: Hook = {
    url: '',
    mode,
    received: [],
    accepted: () => h.received.filter((r) => r.answered === 200).map((r) => r.body),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      const next = h.mode.length ? h.mode.shift()! : 'ok';
      const entry = { body: JSON.parse(text) as unknown, answered: null as number | null };
      h.received.push(entry);
      if (next === 'hang') {
        pending.push(res);
        return;
      }
      entry.answered = next === 'ok' ? 200 : 500;
      res.writeHead(entry.answered).end(next);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/keytrail?token=s3cret`;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const res of pending) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return h;
}

/** A database with one high finding (token-used-after-job) and one medium (policy-changed). */
async function world(): Promise<KeytrailDb> {
  const t = tempDir('keytrail-alerts-');
  const d = new AuditDevice('audit');
  const job = newToken('job5001', {
    issued: at(T, 20),
    display_name: 'jwt-alice',
    metadata: jobClaims({ role: 'deploy', project_id: 101, project_path: 'acme/payments-api', pipeline_id: 9001, job_id: 5001, user_login: 'alice', ref: 'main' }),
  });
  const admin = newToken('admin', { issued: at(T, 5), display_name: 'userpass-admin', policies: ['default', 'admin'] });
  d.login({ time: at(T, 20), token: job });
  d.request({ time: at(T, 20 * 60), token: job, operation: 'read', path: 'kv/data/payments/db' });
  d.request({ time: at(T, 60), token: admin, operation: 'update', path: 'sys/policies/acl/payments-ci', remote: '10.30.0.1' });
  const handle = await buildDatabase(t.dir, { jobs: [{ id: 5001, project_id: 101, pipeline_id: 9001, started_at: T, finished_at: at(T, 600) }] }, [d]);
  cleanups.push(t.cleanup, () => handle.close());
  return handle;
}

/** Only the named rules on. */
function only(...rules: string[]): DetectionSettings {
  const s = defaultDetectionSettings();
  for (const id of RULE_IDS) if (!rules.includes(id)) s.detections.rules[id] = { enabled: false };
  return s;
}

function stdout(lines: string[], format: 'json' | 'table' = 'json'): AlertChannel {
  return { kind: 'stdout', format, write: (text) => lines.push(...text.trimEnd().split('\n')) };
}

// Generous timeout: the machines running the tests are shared and slow; the timeout test sets its own.
const fast = { attempts: 3, timeoutMs: 5000, backoffMs: 20 };

describe('webhook delivery', () => {
  it('a server that fails twice then succeeds gets exactly one accepted delivery, and never again', async () => {
    const handle = await world();
    const h = await hook(['fail', 'fail']);
    const lines: string[] = [];
    const settings = only('token-used-after-job');
    const first = await runAlerts(handle, settings, { channels: [stdout(lines), { kind: 'webhook', url: h.url, format: 'generic' }], retry: fast });
    expect(h.received.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(h.accepted()).toHaveLength(1);
    const body = h.accepted()[0] as Record<string, unknown>;
    expect(body).toMatchObject({ rule: 'token-used-after-job', event: 'new', severity: 'high', job_id: 5001, status: 'open' });
    // The webhook gets the same object as the stdout JSON line.
    expect(JSON.parse(lines[0]!)).toEqual(body);
    expect(first.exitCode).toBe(3);
    const row = await handle.db.selectFrom('alert_deliveries').selectAll().where('channel', 'like', 'webhook:%').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'delivered', attempts: 3, last_error: null });
    // The channel name does not leak the URL's secret.
    expect(row.channel).not.toContain('s3cret');

    const second = await runAlerts(handle, settings, { channels: [stdout(lines), { kind: 'webhook', url: h.url, format: 'generic' }], retry: fast });
    expect(h.received).toHaveLength(3);
    expect(lines).toHaveLength(1);
    expect(second.exitCode).toBe(0);
  });

  it('a server that never answers times out, fails the run (exit 1) and is retried on the next run', async () => {
    const handle = await world();
    const h = await hook(['hang', 'hang']);
    const lines: string[] = [];
    const settings = only('token-used-after-job');
    const channels: AlertChannel[] = [stdout(lines), { kind: 'webhook', url: h.url, format: 'generic' }];
    const started = Date.now();
    const first = await runAlerts(handle, settings, { channels, retry: { attempts: 2, timeoutMs: 250, backoffMs: 10 } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(first.exitCode).toBe(1);
    expect(first.delivery.failed).toBe(1);
    expect(first.delivery.errors[0]).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+\/hooks\/keytr… within 250 ms/);
    expect(first.delivery.errors[0]).not.toContain('s3cret');
    // stdout still got it, once.
    expect(lines).toHaveLength(1);
    const failed = await handle.db.selectFrom('alert_deliveries').selectAll().where('channel', 'like', 'webhook:%').executeTakeFirstOrThrow();
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });

    // Next run: nothing new is detected, the pending delivery goes out; stdout does not repeat it.
    const second = await runAlerts(handle, settings, { channels, retry: fast });
    expect(second.detection.new).toBe(0);
    expect(second.delivery.delivered).toBe(1);
    expect(second.exitCode).toBe(3);
    expect(h.accepted()).toHaveLength(1);
    expect(lines).toHaveLength(1);
    const third = await runAlerts(handle, settings, { channels, retry: fast });
    expect(third.exitCode).toBe(0);
    expect(h.accepted()).toHaveLength(1);
  });

  it('a failure wins over a delivered high finding (exit 1, not 3)', async () => {
    const handle = await world();
    const good = await hook();
    const bad = await hook(['fail', 'fail', 'fail']);
    const r = await runAlerts(handle, only('token-used-after-job'), {
      channels: [{ kind: 'webhook', url: good.url, format: 'generic' }, { kind: 'webhook', url: bad.url, format: 'generic' }],
      retry: fast,
    });
    expect(good.accepted()).toHaveLength(1);
    expect(r.delivery.delivered_high).toBe(1);
    expect(r.exitCode).toBe(1);
  });

  it('medium findings deliver with exit 0; slack gets blocks', async () => {
    const handle = await world();
    const slack = await hook();
    const r = await runAlerts(handle, only('policy-changed'), { channels: [{ kind: 'webhook', url: slack.url, format: 'slack' }], retry: fast });
    expect(r.exitCode).toBe(0);
    const msg = slack.accepted()[0] as { text: string; blocks: Array<{ type: string; text?: { text: string } }> };
    expect(msg.text).toMatch(/^MEDIUM new: ACL policy written or deleted — ACL policy payments-ci was written/);
    expect(msg.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context']);
    expect(msg.blocks[0]!.text!.text).toBe('MEDIUM new: ACL policy written or deleted');
  });

  it('muted findings are recorded but never delivered', async () => {
    const handle = await world();
    const h = await hook();
    const settings = only('token-used-after-job', 'policy-changed');
    settings.detections.mute = [{ rule: 'token-*', match: { user_login: 'alice' }, reason: 'known rotation job', owner: 'platform' }];
    const lines: string[] = [];
    const r = await runAlerts(handle, settings, { channels: [stdout(lines), { kind: 'webhook', url: h.url, format: 'generic' }], retry: fast });
    expect(lines.map((l) => (JSON.parse(l) as { rule: string }).rule)).toEqual(['policy-changed']);
    expect((h.accepted() as Array<{ rule: string }>).map((b) => b.rule)).toEqual(['policy-changed']);
    expect(r.exitCode).toBe(0);
    const muted = await handle.db.selectFrom('alert_deliveries').select('status').where('status', '=', 'muted').execute();
    expect(muted).toHaveLength(2);
  });

  it('a webhook added later starts with what is new, not with old findings', async () => {
    const handle = await world();
    const lines: string[] = [];
    await runAlerts(handle, only('policy-changed'), { channels: [stdout(lines)], retry: fast });
    expect(lines).toHaveLength(1);
    const h = await hook();
    const r = await runAlerts(handle, only('policy-changed', 'token-used-after-job'), { channels: [stdout(lines), { kind: 'webhook', url: h.url, format: 'generic' }], retry: fast });
    expect(r.detection.new).toBe(1);
    expect((h.accepted() as Array<{ rule: string }>).map((b) => b.rule)).toEqual(['token-used-after-job']);
    expect(lines).toHaveLength(2);
  });

  it('the table format prints one readable line per delivery', async () => {
    const handle = await world();
    const lines: string[] = [];
    await runAlerts(handle, only('token-used-after-job'), { channels: [stdout(lines, 'table')] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^NEW {7}high {5}#\d+ token-used-after-job: job 5001 of acme\/payments-api read kv\/data\/payments\/db 10 minutes after it finished/);
  });
});
