/**
 * The simulated organisation goes through the real stages: its audit files ingest with only the injected torn
 * lines quarantined (every other line stored once or counted as the other device's duplicate), its server logs
 * parse, and the GitLab state served by the fake GitLab server syncs completely (every project, pipeline and job,
 * retried ones included, with runner addresses for self-hosted runners).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { simulate, type SimulateResult } from '../sim/index.js';
import { startFakeGitlab, type FakeGitlab } from '../sim/fake-gitlab/index.js';
import { runCli, tempDir } from './helpers/cli.js';
import { auditLines, ndjson } from './simulate-helpers.js';

const tmp = tempDir('keytrail-sim-ingest-');
let sim: SimulateResult;
let gitlab: FakeGitlab;
const dbPath = () => join(tmp.dir, 'k.db');

beforeAll(async () => {
  sim = await simulate({ outDir: join(tmp.dir, 'sim'), seed: 9, days: 3, projects: 5, jobsPerDay: 30 });
  gitlab = await startFakeGitlab({ stateDir: join(sim.outDir, 'gitlab') });
}, 120_000);
afterAll(async () => {
  await gitlab?.close();
  tmp.cleanup();
});

function query<T>(sql: string): T[] {
  const db = new Database(dbPath(), { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('simulated files through ingest', () => {
  it('quarantines only the torn lines; every complete line is stored or a cross-device duplicate', async () => {
    const lines = auditLines(sim.outDir);
    let stored = 0;
    let duplicates = 0;
    let quarantined = 0;
    let read = 0;
    for (const device of ['file-audit', 'socket-audit', 'raw-debug']) {
      const dirs = ['vault-1', 'vault-2'].map((n) => join('vault', n, device)).filter((d) => existsSync(join(sim.outDir, d)));
      const res = await runCli(['--db', dbPath(), 'ingest', 'vault', ...dirs, '--device', device, '--format', 'json', '--quiet'], { cwd: sim.outDir });
      expect(res.code, res.stderr).toBe(0);
      const s = JSON.parse(res.stdout) as { lines: number; stored: number; duplicates: number; quarantined: number };
      read += s.lines;
      stored += s.stored;
      duplicates += s.duplicates;
      quarantined += s.quarantined;
    }
    expect(read).toBe(lines.length);
    expect(quarantined).toBe(sim.tornLines);
    expect(stored + duplicates + quarantined).toBe(lines.length);
    // Stored once per (request id, type): the distinct entries of all devices.
    const distinct = new Set(lines.filter((l) => l.entry).map((l) => `${l.entry!.request.id}/${l.entry!.type}`));
    expect(stored).toBe(distinct.size);
    const reasons = query<{ reason: string; device: string }>('SELECT reason, device FROM quarantine');
    expect(reasons).toHaveLength(sim.tornLines);
    for (const r of reasons) expect(r.device).toBe('file-audit');
    // The log_raw device is recognised.
    expect(query<{ name: string }>('SELECT name FROM devices WHERE log_raw <> 0').map((d) => d.name)).toEqual(['raw-debug']);

    const logs = await runCli(['--db', dbPath(), 'ingest', 'vault-server-log', 'vault/vault-1/server.log', 'vault/vault-2/server.log', '--format', 'json', '--quiet'], { cwd: sim.outDir });
    expect(logs.code, logs.stderr).toBe(0);
    const ls = JSON.parse(logs.stdout) as { lines: number; stored: number; quarantined: number };
    const logLines = ['vault-1', 'vault-2'].reduce((n, node) => n + readFileSync(join(sim.outDir, 'vault', node, 'server.log'), 'utf8').split('\n').filter(Boolean).length, 0);
    expect(ls.lines).toBe(logLines);
    expect(ls.quarantined).toBe(0);
    const revoked = query<{ n: number }>("SELECT count(*) AS n FROM server_events WHERE lease_id IS NOT NULL")[0]!.n;
    expect(revoked).toBeGreaterThan(10);
  }, 180_000);

  it('the GitLab state served by the fake server syncs completely', async () => {
    const state = join(sim.outDir, 'gitlab');
    const token = (JSON.parse(readFileSync(join(state, 'server.json'), 'utf8')) as { tokens: string[] }).tokens[0]!;
    const env = { GITLAB_TOKEN: token, GITLAB_OAUTH_TOKEN: undefined };
    const group = await runCli(['--db', dbPath(), 'ingest', 'gitlab', '--url', gitlab.url, '--group', 'acme', '--include-subgroups', '--format', 'json', '--quiet'], { env });
    expect(group.code, group.stderr).toBe(0);
    const fork = await runCli(['--db', dbPath(), 'ingest', 'gitlab', '--url', gitlab.url, '--project', 'dkim/payments-api', '--format', 'json', '--quiet'], { env });
    expect(fork.code, fork.stderr).toBe(0);
    const projects = JSON.parse(readFileSync(join(state, 'projects.json'), 'utf8')) as { id: number }[];
    const pipelines = ndjson<{ id: number }>(join(state, 'pipelines.ndjson'));
    const jobs = ndjson<{ id: number; _retried: boolean; runner_manager: { ip_address: string | null } | null }>(join(state, 'jobs.ndjson'));
    const ids = (sql: string) => query<{ id: number }>(sql).map((r) => r.id).sort((a, b) => a - b);
    expect(ids('SELECT id FROM gitlab_projects')).toEqual(projects.map((p) => p.id).sort((a, b) => a - b));
    expect(ids('SELECT id FROM gitlab_pipelines')).toEqual(pipelines.map((p) => p.id).sort((a, b) => a - b));
    expect(ids('SELECT id FROM gitlab_jobs')).toEqual(jobs.map((j) => j.id).sort((a, b) => a - b));
    expect(ids('SELECT id FROM gitlab_jobs WHERE retried = 1')).toEqual(jobs.filter((j) => j._retried).map((j) => j.id).sort((a, b) => a - b));
    const withIp = query<{ n: number }>('SELECT count(*) AS n FROM gitlab_jobs WHERE runner_ip IS NOT NULL')[0]!.n;
    expect(withIp).toBe(jobs.filter((j) => j.runner_manager?.ip_address).length);
  }, 180_000);
});
