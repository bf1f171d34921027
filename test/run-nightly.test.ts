import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runCli, tempDir } from './helpers/cli.js';
import { simulate } from '../sim/index.js';
import { startFakeGitlab, type FakeGitlab } from '../sim/fake-gitlab/index.js';
import { parsePeriod, previousPeriod } from '../cli/run/period.js';

interface RunJson {
  steps: { name: string; status: string; summary: Record<string, unknown> }[];
}

const tmp = tempDir('keytrail-run-');
let gitlab: FakeGitlab;
let token: string;
let configPath: string;

/** The parts of the simulated keytrail.yaml the tests change. */
interface EditableConfig {
  gitlab: { url?: string };
  report?: Record<string, unknown>;
}

function writeConfig(name: string, edit: (c: EditableConfig) => void): string {
  const config = parse(readFileSync(join(tmp.dir, 'sim', 'keytrail.yaml'), 'utf8')) as EditableConfig;
  edit(config);
  const path = join(tmp.dir, 'sim', name);
  writeFileSync(path, stringify(config));
  return path;
}

beforeAll(async () => {
  const sim = await simulate({ outDir: join(tmp.dir, 'sim'), seed: 3, days: 2, projects: 4, jobsPerDay: 20 });
  token = sim.gitlabToken;
  gitlab = await startFakeGitlab({ stateDir: join(sim.outDir, 'gitlab') });
  configPath = writeConfig('run.yaml', (c) => {
    c.gitlab.url = gitlab.url;
    c.report = { schedule: 'monthly', out_dir: '../packs' };
  });
});

afterAll(async () => {
  await gitlab?.close();
  tmp.cleanup();
});

describe('keytrail run (the nightly job)', () => {
  it('runs every step from keytrail.yaml, exits 3 for new high findings, then 0 with nothing new and the pack written once', async () => {
    const db = join(tmp.dir, 'nightly.db');
    const env = { GITLAB_TOKEN: token };
    const first = await runCli(['run', '--format', 'json', '--config', configPath, '--db', db], { env });
    expect(first.stderr).not.toContain(token);
    expect(first.code, first.stderr.slice(-2000)).toBe(3);
    const lines = first.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!) as RunJson;
    expect(summary.steps.map((s) => s.name)).toEqual(['ingest-vault', 'ingest-server-log', 'gitlab', 'correlate', 'alerts', 'report']);
    expect(summary.steps.every((s) => s.status === 'ok')).toBe(true);
    // Alerts went to stdout as one JSON line per delivery, before the summary.
    expect(lines.length).toBeGreaterThan(1);
    expect(JSON.parse(lines[0]!)).toHaveProperty('event', 'new');
    const period = previousPeriod('monthly', new Date());
    const report = summary.steps.find((s) => s.name === 'report')!;
    expect(report.summary.period).toBe(period.name);
    expect(existsSync(join(tmp.dir, 'packs', period.name, 'manifest.json'))).toBe(true);

    const second = await runCli(['run', '--format', 'json', '--config', configPath, '--db', db], { env });
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout.trim()) as RunJson;
    expect(again.steps.find((s) => s.name === 'report')!.status).toBe('skipped');
    expect(again.steps.find((s) => s.name === 'ingest-vault')!.summary.lines).toBe(0);
  });

  it('refuses to overlap a run in progress: a held lock exits 1', async () => {
    const db = join(tmp.dir, 'locked.db');
    writeFileSync(`${db}.lock`, `${process.pid}\n`);
    const r = await runCli(['run', '--config', configPath, '--db', db], { env: { GITLAB_TOKEN: token } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('another run is in progress');
  });

  it('takes over the lock of a run that died', async () => {
    const db = join(tmp.dir, 'stale.db');
    writeFileSync(`${db}.lock`, '999999999\n');
    const cfg = writeConfig('nogitlab.yaml', (c) => {
      delete c.gitlab.url;
    });
    const r = await runCli(['run', '--format', 'json', '--config', cfg, '--db', db]);
    expect([0, 3]).toContain(r.code);
    expect(existsSync(`${db}.lock`)).toBe(false);
  });

  it('reports a failing step and still runs the later steps that do not depend on it (exit 1)', async () => {
    const db = join(tmp.dir, 'failing.db');
    // GitLab rejects the token: the sync fails, the Vault side still gets correlated and alerted on.
    const r = await runCli(['run', '--format', 'json', '--config', configPath, '--db', db], { env: { GITLAB_TOKEN: 'glpat-revoked' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GITLAB_TOKEN');
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]!) as RunJson;
    const status = Object.fromEntries(summary.steps.map((s) => [s.name, s.status]));
    expect(status.gitlab).toBe('failed');
    expect(status['ingest-vault']).toBe('ok');
    expect(status.correlate).toBe('ok');
    expect(status.alerts).toBe('ok');
  });

  it('forces the pack of a given period with --report-period', async () => {
    const db = join(tmp.dir, 'forced.db');
    const cfg = writeConfig('forced.yaml', (c) => {
      delete c.gitlab.url;
      c.report = { out_dir: '../forced-packs' };
    });
    const r = await runCli(['run', '--report-period', '2026-Q1', '--format', 'json', '--config', cfg, '--db', db]);
    expect([0, 3]).toContain(r.code);
    expect(existsSync(join(tmp.dir, 'forced-packs', '2026-Q1', 'report.pdf'))).toBe(true);
    const verify = await runCli(['verify', join(tmp.dir, 'forced-packs', '2026-Q1')]);
    expect(verify.code).toBe(0);
  });

  it('rejects a malformed --report-period as a usage error', async () => {
    const r = await runCli(['run', '--report-period', '2026-13', '--db', join(tmp.dir, 'x.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('2026-03 or 2026-Q1');
  });
});

describe('reporting periods', () => {
  it('parses months and quarters into inclusive UTC days', () => {
    expect(parsePeriod('2026-02')).toEqual({ name: '2026-02', from: '2026-02-01', to: '2026-02-28' });
    expect(parsePeriod('2024-02').to).toBe('2024-02-29');
    expect(parsePeriod('2026-Q4')).toEqual({ name: '2026-Q4', from: '2026-10-01', to: '2026-12-31' });
  });

  it('the due period is the last complete one, across a year boundary', () => {
    expect(previousPeriod('monthly', new Date('2026-01-01T00:30:00Z')).name).toBe('2025-12');
    expect(previousPeriod('quarterly', new Date('2026-02-10T00:00:00Z')).name).toBe('2025-Q4');
    expect(previousPeriod('quarterly', new Date('2026-07-01T00:00:00Z')).name).toBe('2026-Q2');
  });
});
