/**
 * The audit trail's own integrity: a device silent while others log, a broken batch hash chain, and a
 * device writing secrets in clear (log_raw). Real files, real ingest, real correlate.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { AuditDevice, at, newToken, uuid } from './fixtures/detect/vault.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import { openDatabase, type KeytrailDb } from '../db/index.js';
import { ingestVaultFiles } from '../ingest/index.js';
import { correlate, DEFAULT_SETTINGS } from '../correlate/index.js';
import { defaultDetectionSettings, queryFindings, runDetections } from '../reports/detect/index.js';

const T = '2026-03-02T10:00:00Z';
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function temp(): string {
  const t = tempDir('keytrail-integrity-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function track(h: KeytrailDb): Promise<KeytrailDb> {
  cleanups.push(() => h.close());
  return h;
}

describe('audit-gap', () => {
  it('finds a device silent for longer than audit_gap_minutes while another logs, not a quiet period of all devices', async () => {
    const dir = temp();
    const a = new AuditDevice('node-a');
    const b = new AuditDevice('node-b');
    const token = newToken('svc', { issued: T, display_name: 'approle-svc', policies: ['default', 'svc'] });
    // Every 5 minutes from 10:00 to 13:00, then both quiet until 15:30, then both again.
    const minutes = [...Array.from({ length: 37 }, (_, i) => i * 5), ...Array.from({ length: 6 }, (_, i) => 330 + i * 5)];
    for (const m of minutes) {
      const id = uuid(`gap-${m}`);
      const req = { time: at(T, m * 60), token, operation: 'read', path: 'kv/data/svc/config', remote: '10.20.0.9', id };
      a.request(req);
      // node-b misses 10:35–12:10 (100 minutes: a gap) and 12:30–13:00 (35 minutes: under the threshold).
      if (!((m > 30 && m < 135) || (m > 145 && m < 180))) b.request({ ...req, time: at(T, m * 60 + 0.002) });
    }
    const handle = await track(await buildDatabase(dir, {}, [a, b]));
    await runDetections(handle, defaultDetectionSettings());
    const gaps = await queryFindings(handle, { rule: 'audit-gap' });
    expect(gaps.map((g) => g.subject)).toEqual(['device:node-b.log']);
    // Evidence: the 20 requests node-a logged while node-b was silent (10:35 … 12:10).
    expect(gaps[0]!.count).toBe(20);
    expect(gaps[0]!.request_ids[0]).toBe(uuid('gap-35'));
    expect(gaps[0]!.detail).toContain('audit device node-b.log was silent for 104 minutes (2026-03-02T10:31:00.000Z to 2026-03-02T12:15:00.000Z)');
    expect(gaps[0]!.severity).toBe('high');

    // A lower threshold also catches the shorter silence: same finding (one per device), more evidence.
    const settings = defaultDetectionSettings();
    settings.detections.audit_gap_minutes = 30;
    const r = await runDetections(handle, settings);
    expect(r.new).toBe(0);
    const again = await queryFindings(handle, { rule: 'audit-gap' });
    expect(again).toHaveLength(1);
    expect(again[0]!.count).toBe(26);
    expect(again[0]!.detail).toMatch(/^audit device node-b\.log was silent 2 times, longest for 104 minutes/);
  });

  it('finds a break in a device batch hash chain', async () => {
    const dir = temp();
    const d = new AuditDevice('audit');
    const token = newToken('svc', { issued: T, display_name: 'approle-svc', policies: ['default'] });
    d.request({ time: at(T, 1), token, operation: 'read', path: 'kv/data/svc/a' });
    const handle = await track(await buildDatabase(dir, {}, [d]));
    // A second batch for the same device (the file grew), then a third.
    for (const s of [60, 120]) {
      const before = d.lines.length;
      d.request({ time: at(T, s), token, operation: 'read', path: 'kv/data/svc/b' });
      appendFileSync(join(dir, 'audit.log'), d.lines.slice(before).join('\n') + '\n');
      await ingestVaultFiles(handle, [join(dir, 'audit.log')]);
    }
    await correlate(handle, DEFAULT_SETTINGS);
    await runDetections(handle, defaultDetectionSettings());
    expect(await queryFindings(handle, { rule: 'audit-gap' })).toEqual([]);

    const batches = await handle.db.selectFrom('ingest_batches').select(['id', 'stored_sha256']).where('device', '=', 'audit.log').orderBy('id').execute();
    expect(batches.length).toBe(3);
    // Someone rewrote the stored bytes of the middle batch (and its hash) without re-chaining.
    await handle.db.updateTable('ingest_batches').set({ stored_sha256: 'f'.repeat(64) }).where('id', '=', batches[1]!.id).execute();
    await runDetections(handle, defaultDetectionSettings());
    const found = await queryFindings(handle, { rule: 'audit-gap' });
    expect(found.map((f) => f.subject)).toEqual(['device:audit.log']);
    expect(found[0]!.detail).toContain(`the hash chain of audit.log breaks at batch ${batches[1]!.id} (hash does not recompute)`);
  });
});

describe('raw-audit-logging', () => {
  it('flags a log_raw device and not an HMAC device', async () => {
    const dir = temp();
    const raw = new AuditDevice('raw-device', 'unused', true);
    const hashed = new AuditDevice('hashed-device');
    const token = newToken('svc', { issued: T, display_name: 'approle-svc', policies: ['default'] });
    for (const d of [raw, hashed]) d.request({ time: at(T, 5), token, operation: 'read', path: 'kv/data/svc/a', id: uuid('raw-1') });
    const handle = await track(await buildDatabase(dir, {}, [raw, hashed]));
    await runDetections(handle, defaultDetectionSettings());
    const found = await queryFindings(handle, { rule: 'raw-audit-logging' });
    expect(found.map((f) => f.subject)).toEqual(['device:raw-device.log']);
    expect(found[0]!.detail).toMatch(/writes tokens and secrets in clear \(log_raw=true\); keytrail redacted 1 batch/);
    // The clear token never reached the finding.
    expect(JSON.stringify(found)).not.toContain(token.token);
  });

  it('opens the real database file again without re-raising anything', async () => {
    const dir = temp();
    const d = new AuditDevice('raw-device', 'unused', true);
    d.request({ time: at(T, 5), token: newToken('svc', { issued: T }), operation: 'read', path: 'kv/data/svc/a' });
    const first = await buildDatabase(dir, {}, [d]);
    await runDetections(first, defaultDetectionSettings());
    await first.close();
    const handle = await track(await openDatabase(join(dir, 'keytrail.db')));
    const r = await runDetections(handle, defaultDetectionSettings(), { force: true });
    expect(r.new).toBe(0);
    expect(r.event_ids).toEqual([]);
  });
});
