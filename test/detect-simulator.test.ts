/**
 * Against the simulator's ground truth: the nightly pipeline (real ingest, GitLab sync from the fake GitLab
 * server, correlate, detections) finds every anomaly the simulator injected with the rule its ground truth
 * names, and background activity alone (`--anomalies none`) raises no high or critical finding.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { simulate } from '../sim/index.js';
import { startFakeGitlab } from '../sim/fake-gitlab/index.js';
import { loadConfig } from '../cli/config.js';
import { createLogger } from '../cli/logger.js';
import { runNightly } from '../cli/run/nightly.js';
import { openDatabase } from '../db/index.js';
import { queryFindings, type ListedFinding } from '../reports/detect/index.js';

interface GroundTruth {
  anomalies: Array<{ rule: string; request_ids: string[]; job_id: number | null; note?: string }>;
}

const cleanups: Array<() => void | Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pipeline(anomalies: 'all' | 'none'): Promise<{ findings: ListedFinding[]; truth: GroundTruth }> {
  const { dir, cleanup } = tempDir('keytrail-sim-detect-');
  cleanups.push(cleanup);
  const sim = await simulate({ outDir: join(dir, 'sim'), seed: 11, days: 3, projects: 6, jobsPerDay: 20, anomalies });
  const gitlab = await startFakeGitlab({ stateDir: join(sim.outDir, 'gitlab') });
  const config = loadConfig(join(sim.outDir, 'keytrail.yaml'));
  config.gitlab.url = gitlab.url;
  const handle = await openDatabase(join(dir, 'keytrail.db'));
  try {
    const result = await runNightly(handle, {
      config,
      logger: createLogger({ quiet: true }),
      alertFormat: 'json',
      write: () => {},
      env: { ...process.env, GITLAB_TOKEN: sim.gitlabToken, GITLAB_OAUTH_TOKEN: undefined },
    });
    expect(result.steps.filter((s) => s.status === 'failed')).toEqual([]);
    const findings = await queryFindings(handle);
    const truth = JSON.parse(readFileSync(join(sim.outDir, 'ground-truth.json'), 'utf8')) as GroundTruth;
    return { findings, truth };
  } finally {
    await handle.close();
    await gitlab.close();
  }
}

describe('simulator ground truth', () => {
  it('every injected anomaly is found by the rule its ground truth names', async () => {
    const { findings, truth } = await pipeline('all');
    expect(truth.anomalies.length).toBeGreaterThanOrEqual(20);
    const missed: string[] = [];
    for (const a of truth.anomalies) {
      const ofRule = findings.filter((f) => f.rule === a.rule);
      const ids = new Set(a.request_ids);
      // Found = a finding of that rule whose evidence includes one of the injected requests.
      const hit = ids.size === 0 ? ofRule.length > 0 : ofRule.some((f) => f.request_ids.some((id) => ids.has(id)));
      if (!hit) missed.push(`${a.rule} (${a.note ?? ''}; ${a.request_ids.length} requests, job ${a.job_id})`);
    }
    expect(missed).toEqual([]);
  }, 240_000);

  it('--anomalies none raises no high or critical finding', async () => {
    const { findings, truth } = await pipeline('none');
    expect(truth.anomalies).toEqual([]);
    const loud = findings.filter((f) => f.severity === 'high' || f.severity === 'critical').map((f) => `${f.rule}: ${f.detail}`);
    expect(loud).toEqual([]);
  }, 240_000);
});
