/**
 * The population summaries the pack accumulates while streaming secret accesses equal what the summary
 * queries of queries.sql give (the figures an auditor re-performs), on the known scenario.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { collectSummaries } from '../reports/pack/collect.js';
import { makePeriod } from '../reports/pack/period.js';
import { bindingsFor, POPULATION_QUERIES, queryParams } from '../reports/pack/queries.js';
import { SecretAccessSummary } from '../reports/pack/stream-summary.js';
import { insertScenario } from './fixtures/report/scenario.js';
import { tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-report-summaries-');
afterAll(() => tmp.cleanup());

describe('SecretAccessSummary', () => {
  it('gives the accesses-per-day, top-paths and per-project rows of the SQL summaries', async () => {
    const handle = await openDatabase(join(tmp.dir, 'keytrail.db'));
    insertScenario(handle);
    // More rows: ties in counts, a second day, an unknown project.
    const add = handle.sqlite.prepare(
      "INSERT INTO accesses (request_id, time, time_key, devices, operation, path, namespace, outcome, attribution, verified, pairing, is_secret_access, job_id, project_id, project_path) VALUES (?, ?, ?, 'file-a', 'read', ?, '', ?, ?, ?, 'paired', 1, ?, ?, ?)",
    );
    add.run('x1', '2026-03-02T11:00:00Z', '2026-03-02T11:00:00.000000000Z', 'kv/data/zeta', 'ok', 'claims', 'no', 6001, 12, null);
    add.run('x2', '2026-03-02T11:00:01Z', '2026-03-02T11:00:01.000000000Z', 'kv/data/alpha', 'error', 'claims', 'yes', 5002, 11, 'acme/web');
    for (const period of [makePeriod('2026-03-01', '2026-03-02'), makePeriod('2026-03-02', '2026-03-02'), makePeriod('2025-01-01', '2025-01-02')]) {
      const params = queryParams(period, 'seed', 25, 60);
      const sql = POPULATION_QUERIES['secret-accesses'].sql;
      const stmt = handle.sqlite.prepare(sql).raw(true);
      const summary = new SecretAccessSummary(stmt.columns().map((c) => c.name));
      for (const row of stmt.iterate(bindingsFor(sql, params)) as IterableIterator<unknown[]>) summary.add(row);
      const fromSql = collectSummaries(handle.sqlite, params);
      const streamed = summary.result();
      expect(streamed.perDay).toEqual(fromSql.perDay);
      expect(streamed.topPaths).toEqual(fromSql.topPaths);
      expect(streamed.perProject).toEqual(fromSql.perProject);
    }
    const all = collectSummaries(handle.sqlite, queryParams(makePeriod('2026-03-01', '2026-03-02'), 'seed', 25, 60));
    expect(all.perProject.map((p) => p.project)).toContain('project 12 (not in GitLab)');
    await handle.close();
  });
});
