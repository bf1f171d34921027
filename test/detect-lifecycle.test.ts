/**
 * What happens to findings over time: no duplicates on re-runs, re-opened by new evidence after being
 * resolved, escalated when severity rises, muted by `detections.mute` (with and without expiry), and the
 * incremental run that finds nothing new.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { AuditDevice, at, jobClaims, newToken, type TokenHandle } from './fixtures/detect/vault.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import type { KeytrailDb } from '../db/index.js';
import { ingestVaultFiles } from '../ingest/index.js';
import { correlate, DEFAULT_SETTINGS } from '../correlate/index.js';
import {
  defaultDetectionSettings,
  findingTriage,
  queryFindings,
  reopenFinding,
  resolveFinding,
  runDetections,
  type DetectionSettings,
} from '../reports/detect/index.js';

const T = '2026-03-02T10:00:00Z';
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface World {
  dir: string;
  handle: KeytrailDb;
  device: AuditDevice;
  job: TokenHandle;
  admin: TokenHandle;
  /** Appends requests to the audit file, ingests and correlates them. */
  more(write: (d: AuditDevice) => void): Promise<void>;
}

async function world(): Promise<World> {
  const t = tempDir('keytrail-lifecycle-');
  const d = new AuditDevice('audit');
  const job = newToken('job5001', {
    issued: at(T, 20),
    display_name: 'jwt-alice',
    policies: ['default', 'deploy'],
    metadata: jobClaims({ role: 'deploy', project_id: 101, project_path: 'acme/payments-api', pipeline_id: 9001, job_id: 5001, user_login: 'alice', ref: 'main' }),
  });
  const admin = newToken('admin', { issued: at(T, 5), display_name: 'userpass-admin', policies: ['default', 'admin'] });
  d.login({ time: at(T, 20), token: job });
  d.request({ time: at(T, 30), token: job, operation: 'read', path: 'kv/data/payments/db' });
  d.request({ time: at(T, 20 * 60), token: job, operation: 'read', path: 'kv/data/payments/db' });
  d.request({ time: at(T, 60), token: admin, operation: 'update', path: 'sys/policies/acl/payments-ci', remote: '10.30.0.1' });
  const handle = await buildDatabase(t.dir, { jobs: [{ id: 5001, project_id: 101, pipeline_id: 9001, started_at: T, finished_at: at(T, 600) }] }, [d]);
  cleanups.push(t.cleanup, () => handle.close());
  return {
    dir: t.dir,
    handle,
    device: d,
    job,
    admin,
    async more(write) {
      const before = d.lines.length;
      write(d);
      appendFileSync(join(t.dir, 'audit.log'), d.lines.slice(before).join('\n') + '\n');
      await ingestVaultFiles(handle, [join(t.dir, 'audit.log')]);
      await correlate(handle, DEFAULT_SETTINGS);
    },
  };
}

async function late(w: World) {
  const rows = await queryFindings(w.handle, { rule: 'token-used-after-job' });
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

function settingsWith(edit: (s: DetectionSettings) => void): DetectionSettings {
  const s = defaultDetectionSettings();
  edit(s);
  return s;
}

describe('dedupe and incremental runs', () => {
  it('re-running over the same data creates no duplicate and no event', async () => {
    const w = await world();
    const first = await runDetections(w.handle, defaultDetectionSettings());
    expect(first.new).toBeGreaterThanOrEqual(2);
    const count = (await queryFindings(w.handle)).length;

    const second = await runDetections(w.handle, defaultDetectionSettings());
    expect(second.evaluated).toBe(false);
    expect(second.event_ids).toEqual([]);

    // Even a forced full evaluation changes nothing.
    const forced = await runDetections(w.handle, defaultDetectionSettings(), { force: true });
    expect(forced.evaluated).toBe(true);
    expect(forced).toMatchObject({ new: 0, reopened: 0, escalated: 0, updated: 0, event_ids: [] });
    expect(await queryFindings(w.handle)).toHaveLength(count);
    const events = await w.handle.db.selectFrom('finding_events').selectAll().execute();
    expect(events).toHaveLength(first.event_ids.length);
  });

  it('new evidence for an open finding updates it without a new event', async () => {
    const w = await world();
    await runDetections(w.handle, defaultDetectionSettings());
    await w.more((d) => d.request({ time: at(T, 25 * 60), token: w.job, operation: 'read', path: 'kv/data/payments/other' }));
    const r = await runDetections(w.handle, defaultDetectionSettings());
    expect(r.evaluated).toBe(true);
    expect(r.new + r.reopened + r.escalated).toBe(0);
    const f = await late(w);
    expect(f.count).toBe(2);
    expect(f.last_seen).toBe('2026-03-02T10:25:00.000123456Z');
  });
});

describe('triage and re-opening', () => {
  it('a resolved finding stays resolved on re-runs and re-opens on new evidence', async () => {
    const w = await world();
    await runDetections(w.handle, defaultDetectionSettings());
    const f = await late(w);
    const resolved = await resolveFinding(w.handle, f.id, { note: 'token revoked by hand', actor: 'sec-oncall', now: new Date('2026-03-03T09:00:00Z') });
    expect(resolved.status).toBe('resolved');

    const rerun = await runDetections(w.handle, defaultDetectionSettings(), { force: true });
    expect(rerun.reopened).toBe(0);
    expect((await late(w)).status).toBe('resolved');

    await w.more((d) => d.request({ time: at(T, 40 * 60), token: w.job, operation: 'read', path: 'kv/data/payments/db' }));
    const r = await runDetections(w.handle, defaultDetectionSettings());
    expect(r.reopened).toBe(1);
    const reopened = await late(w);
    expect(reopened).toMatchObject({ id: f.id, status: 'open', count: 2 });
    const events = await w.handle.db.selectFrom('finding_events').select(['event']).where('finding_id', '=', f.id).orderBy('id').execute();
    expect(events.map((e) => e.event)).toEqual(['new', 'reopened']);
    expect(await findingTriage(w.handle, f.id)).toEqual([{ action: 'resolve', note: 'token revoked by hand', actor: 'sec-oncall', at: '2026-03-03T09:00:00.000Z' }]);
  });

  it('reopen by hand records who and why', async () => {
    const w = await world();
    await runDetections(w.handle, defaultDetectionSettings());
    const f = await late(w);
    await resolveFinding(w.handle, f.id, { note: 'false alarm', actor: 'ann' });
    const row = await reopenFinding(w.handle, f.id, { note: 'not a false alarm after all', actor: 'ben' });
    expect(row.status).toBe('open');
    const triage = await findingTriage(w.handle, f.id);
    expect(triage.map((t) => [t.action, t.actor, t.note])).toEqual([
      ['resolve', 'ann', 'false alarm'],
      ['reopen', 'ben', 'not a false alarm after all'],
    ]);
  });
});

describe('escalation', () => {
  it('a higher configured severity escalates existing findings once', async () => {
    const w = await world();
    await runDetections(w.handle, defaultDetectionSettings());
    const policy = (await queryFindings(w.handle, { rule: 'policy-changed' }))[0]!;
    expect(policy.severity).toBe('medium');
    const high = settingsWith((s) => (s.detections.rules['policy-changed'] = { severity: 'high' }));
    const r = await runDetections(w.handle, high);
    expect(r.escalated).toBe(1);
    expect((await queryFindings(w.handle, { rule: 'policy-changed' }))[0]!.severity).toBe('high');
    const again = await runDetections(w.handle, high, { force: true });
    expect(again.escalated).toBe(0);
    const events = await w.handle.db.selectFrom('finding_events').select(['event', 'severity']).where('finding_id', '=', policy.id).orderBy('id').execute();
    expect(events).toEqual([
      { event: 'new', severity: 'medium' },
      { event: 'escalated', severity: 'high' },
    ]);
  });

  it('a disabled rule raises nothing', async () => {
    const w = await world();
    await runDetections(w.handle, settingsWith((s) => (s.detections.rules['token-used-after-job'] = { enabled: false })));
    expect(await queryFindings(w.handle, { rule: 'token-used-after-job' })).toEqual([]);
    expect(await queryFindings(w.handle, { rule: 'policy-changed' })).toHaveLength(1);
  });
});

describe('mutes', () => {
  const mute = { rule: 'token-used-after-job', match: { job_id: 5001, path: 'kv/data/payments/**' }, reason: 'job 5001 is the nightly rotation; its token is revoked by cron', owner: 'platform@acme.example' };

  it('without expiry: the finding is kept, muted, with reason and owner', async () => {
    const w = await world();
    const r = await runDetections(w.handle, settingsWith((s) => (s.detections.mute = [mute])));
    expect(r.muted).toBe(1);
    const f = await late(w);
    expect(f).toMatchObject({ status: 'muted', mute_reason: mute.reason, mute_owner: mute.owner });
    expect(await queryFindings(w.handle, { status: 'muted' })).toHaveLength(1);
    // Other findings are untouched.
    expect((await queryFindings(w.handle, { rule: 'policy-changed' }))[0]!.status).toBe('open');
  });

  it('a mute whose match does not fit (glob on another path) does not apply', async () => {
    const w = await world();
    await runDetections(w.handle, settingsWith((s) => (s.detections.mute = [{ ...mute, match: { path: 'kv/data/shop/*' } }])));
    expect((await late(w)).status).toBe('open');
  });

  it('with expiry: applies until then; once expired the finding is open again and alerted as re-opened', async () => {
    const w = await world();
    const expiring = settingsWith((s) => (s.detections.mute = [{ ...mute, expires: '2026-03-10' }]));
    await runDetections(w.handle, expiring, { now: new Date('2026-03-10T23:00:00Z') });
    const f = await late(w);
    expect(f.status).toBe('muted');

    const r = await runDetections(w.handle, expiring, { now: new Date('2026-03-11T00:00:01Z') });
    expect(r.unmuted).toBe(1);
    expect(r.reopened).toBe(1);
    expect(await late(w)).toMatchObject({ status: 'open', mute_reason: null, mute_owner: null });
    const events = await w.handle.db.selectFrom('finding_events').select(['event']).where('finding_id', '=', f.id).orderBy('id').execute();
    expect(events.map((e) => e.event)).toEqual(['new', 'reopened']);
  });

  it('a mute with a misspelt field or no owner is refused rather than silently muting nothing', async () => {
    const w = await world();
    await expect(runDetections(w.handle, settingsWith((s) => (s.detections.mute = [{ ...mute, match: { job: 5001 } }])))).rejects.toThrow(/unknown field "job"/);
    await expect(runDetections(w.handle, settingsWith((s) => (s.detections.mute = [{ ...mute, owner: '' }])))).rejects.toThrow(/needs rule, reason and owner/);
    await expect(runDetections(w.handle, settingsWith((s) => (s.detections.mute = [{ ...mute, expires: 'soon' }])))).rejects.toThrow(/expires is not a date/);
  });

  it('an already expired mute never applies', async () => {
    const w = await world();
    await runDetections(w.handle, settingsWith((s) => (s.detections.mute = [{ ...mute, expires: '2026-01-31' }])), { now: new Date('2026-03-05T00:00:00Z') });
    expect((await late(w)).status).toBe('open');
  });
});
