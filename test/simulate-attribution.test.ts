import { describe, expect, it, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { simulate } from '../sim/index.js';
import { startFakeGitlab } from '../sim/fake-gitlab/index.js';
import { openDatabase } from '../db/index.js';
import { loadConfig } from '../cli/config.js';
import { createLogger } from '../cli/logger.js';
import { runNightly } from '../cli/run/nightly.js';

interface GroundTruth {
  requests: { request_id: string; job_id: number | null }[];
}

const tmp = tempDir('keytrail-simattr-');
afterAll(() => tmp.cleanup());

describe('the correlator against the simulator ground truth', () => {
  it('attributes every request that carries claims or a correlation id to the job the ground truth names', async () => {
    const sim = await simulate({ outDir: join(tmp.dir, 'sim'), seed: 11, days: 3, projects: 6, jobsPerDay: 40 });
    const gitlab = await startFakeGitlab({ stateDir: join(sim.outDir, 'gitlab') });
    const config = loadConfig(join(sim.outDir, 'keytrail.yaml'));
    config.gitlab.url = gitlab.url;
    const handle = await openDatabase(join(tmp.dir, 'k.db'));
    try {
      const result = await runNightly(handle, {
        config,
        logger: createLogger({ quiet: true }),
        alertFormat: 'json',
        write: () => undefined,
        env: { GITLAB_TOKEN: sim.gitlabToken },
      });
      expect(result.steps.filter((s) => s.status === 'failed')).toEqual([]);

      const truth = new Map(
        (JSON.parse(readFileSync(join(sim.outDir, 'ground-truth.json'), 'utf8')) as GroundTruth).requests.map((r) => [r.request_id, r.job_id]),
      );
      const rows = await handle.db.selectFrom('accesses').select(['request_id', 'job_id', 'attribution']).execute();
      expect(rows.length).toBe(truth.size);

      const exact = rows.filter((r) => r.attribution === 'claims' || r.attribution === 'correlation-id');
      expect(exact.length).toBeGreaterThan(50);
      expect(exact.some((r) => r.attribution === 'correlation-id')).toBe(true);
      const wrong = exact.filter((r) => truth.get(r.request_id) !== Number(r.job_id));
      expect(wrong).toEqual([]);

      // A heuristic attribution is only made when exactly one job fits: it must be right too.
      const guessed = rows.filter((r) => r.attribution === 'heuristic');
      expect(guessed.filter((r) => truth.get(r.request_id) !== Number(r.job_id))).toEqual([]);
      // Requests of people and operators (no job in the ground truth) are never tied to a job.
      const jobless = rows.filter((r) => truth.get(r.request_id) === null);
      expect(jobless.length).toBeGreaterThan(0);
      expect(jobless.filter((r) => r.job_id !== null)).toEqual([]);
    } finally {
      await handle.close();
      await gitlab.close();
    }
  });
});
