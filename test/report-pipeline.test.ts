/**
 * The evidence pack over the real pipeline: realistic audit JSONL → ingest → correlate → detections (with a
 * mute) → `keytrail report soc2`. Counts in the CSVs and the PDF, the muted finding with its reason, the
 * recomputed chain, and every sampled access's raw line hash against the audit file itself.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDetectionSettings, runDetections } from '../reports/detect/index.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import { AuditDevice, at, jobClaims, newToken } from './fixtures/detect/vault.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-report-pipeline-');
const pack = join(tmp.dir, 'pack');
const T = '2026-03-02T10:00:00Z';
const T2 = '2026-03-03T09:00:00Z';
let pdfText = '';
const device = new AuditDevice('vault-a');

function csv(name: string): string[] {
  return readFileSync(join(pack, 'populations', `${name}.csv`), 'utf8').trim().split('\r\n');
}

beforeAll(async () => {
  const claims = (job: number, pipeline: number) =>
    jobClaims({ role: 'payments-ci', project_id: 101, project_path: 'acme/payments-api', pipeline_id: pipeline, job_id: job, user_login: 'bob', ref: 'main' });
  const job1 = newToken('job7001', { issued: at(T, 5), metadata: claims(7001, 8001), policies: ['default', 'payments'] });
  device.login({ time: at(T, 5), token: job1 });
  for (const s of [10, 20, 30]) device.request({ time: at(T, s), token: job1, operation: 'read', path: 'kv/data/payments/db' });
  device.request({ time: at(T, 40), token: job1, operation: 'read', path: 'database/creds/payments', lease_id: 'database/creds/payments/L1abc' });
  const alice = newToken('alice', { issued: at(T, 60), display_name: 'userpass-alice', policies: ['default', 'admin'] });
  device.request({ time: at(T, 60), operation: 'update', path: 'auth/userpass/login/alice', mount_type: 'userpass', issued: alice, data: { password: 'x' } });
  device.request({ time: at(T, 70), token: alice, operation: 'read', path: 'kv/data/payments/db' });
  device.request({ time: at(T, 80), token: alice, operation: 'update', path: 'sys/policy/ci', data: { policy: 'path "kv/*" {}' } });
  const job2 = newToken('job7002', { issued: at(T2, 5), metadata: claims(7002, 8002), policies: ['default', 'payments'] });
  device.login({ time: at(T2, 5), token: job2 });
  for (const s of [10, 20]) device.request({ time: at(T2, s), token: job2, operation: 'read', path: 'kv/data/payments/db' });

  const handle = await buildDatabase(tmp.dir, {
    projects: [{ id: 101, path: 'acme/payments-api' }],
    jobs: [
      { id: 7001, project_id: 101, pipeline_id: 8001, user: 'bob', started_at: at(T, 0), finished_at: at(T, 600) },
      { id: 7002, project_id: 101, pipeline_id: 8002, user: 'bob', started_at: at(T2, 0), finished_at: at(T2, 600) },
    ],
  }, [device]);
  const settings = defaultDetectionSettings();
  settings.detections.mute = [{ rule: 'policy-changed', reason: 'Approved by change CHG-1234', owner: 'platform-team' }];
  await runDetections(handle, settings);
  await handle.close();
  const r = await runCli(['report', 'soc2', '--from', '2026-03-02', '--to', '2026-03-03', '--out', pack, '--sample-size', '10', '--db', join(tmp.dir, 'keytrail.db')], { cwd: tmp.dir });
  expect(r.stderr).not.toContain('unexpected');
  expect(r.code).toBe(0);
  pdfText = execFileSync('pdftotext', [join(pack, 'report.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
}, 120_000);

afterAll(() => tmp.cleanup());

describe('report soc2 over real ingest, correlate and detections', () => {
  it('counts the secret accesses (not logins, not sys/) in the CSV, the manifest and the PDF', () => {
    const rows = csv('secret-accesses');
    expect(rows).toHaveLength(1 + 7);
    const pathIdx = rows[0]!.split(',').indexOf('path');
    const paths = rows.slice(1).map((r) => r.split(',')[pathIdx]);
    expect(paths.filter((p) => p === 'kv/data/payments/db')).toHaveLength(6);
    expect(paths).toContain('database/creds/payments');
    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8'));
    expect(manifest.row_counts['secret-accesses']).toBe(7);
    expect(manifest.row_counts['config-changes']).toBe(1);
    expect(manifest.row_counts.leases).toBe(1);
    expect(Object.keys(manifest.batch_chain_heads)).toEqual(['vault-a.log']);
    expect(pdfText).toContain('Secret accesses (populations/secret-accesses.csv) 7');
    expect(pdfText).toContain('Configuration changes (populations/config-changes.csv) 1');
    // Attribution: six accesses by the two jobs' claims, one by a person.
    expect(pdfText).toMatch(/claims \(6\)/);
    expect(pdfText).toMatch(/none \(1\)/);
  });

  it('accounts for every audit line and finds the chain intact', () => {
    const c = JSON.parse(readFileSync(join(pack, 'completeness.json'), 'utf8'));
    expect(c.totals.lines_read).toBe(device.lines.length);
    expect(c.totals.stored).toBe(device.lines.length);
    expect(c.pairing.rate).toBe(1);
    expect(c.claimed_jobs).toEqual({ claimed: 2, found_in_gitlab: 2, share: 1 });
    expect(c.hash_chains).toHaveLength(1);
    expect(c.hash_chains[0].status).toBe('intact');
  });

  it('lists the muted policy change with its reason and owner', () => {
    const findings = csv('findings');
    const muted = findings.find((r) => r.includes('policy-changed'));
    expect(muted).toContain(',muted,');
    expect(muted).toContain('"Approved by change CHG-1234"');
    expect(pdfText).toContain('Approved by change CHG-1234');
    expect(pdfText).toContain('platform-team');
  });

  it('hashes the raw request line of every sampled access as the audit file holds it', () => {
    const rows = csv('sample');
    expect(rows).toHaveLength(1 + 7);
    const header = rows[0]!.split(',');
    const reqIdx = header.indexOf('request_id');
    for (const row of rows.slice(1)) {
      const fields = row.split(',');
      const id = fields[reqIdx];
      const line = device.lines.find((l) => {
        const e = JSON.parse(l);
        return e.type === 'request' && e.request.id === id;
      })!;
      expect(fields[fields.length - 1]).toBe(createHash('sha256').update(line).digest('hex'));
    }
  });

  it('re-performs the sample and the audit gaps with the sqlite3 shell', () => {
    const dir = join(tmp.dir, 'reperform');
    mkdirSync(dir);
    execFileSync('sqlite3', [join(tmp.dir, 'keytrail.db')], { cwd: dir, input: readFileSync(join(pack, 'queries.sql')) });
    const sample = readFileSync(join(pack, 'populations', 'sample.csv'), 'utf8').split('\r\n');
    expect(readFileSync(join(dir, 'sample.csv'), 'utf8').split('\r\n')).toEqual(sample.map((l) => (l ? l.slice(0, l.lastIndexOf(',')) : l)));
    expect(readFileSync(join(dir, 'secret-accesses.csv'), 'utf8')).toBe(readFileSync(join(pack, 'populations', 'secret-accesses.csv'), 'utf8'));
    const c = JSON.parse(readFileSync(join(pack, 'completeness.json'), 'utf8'));
    const gaps = readFileSync(join(dir, 'audit-gaps.csv'), 'utf8').trim().split('\r\n').slice(1);
    expect(gaps).toHaveLength(1); // the night between the two days
    expect(gaps).toEqual(c.audit_gaps.map((g: Record<string, unknown>) => [g.device, g.gap_start, g.gap_end, g.minutes].join(',')));
  });

  it('verifies', async () => {
    const v = await runCli(['verify', pack]);
    expect(v.code).toBe(0);
  });
});
