/**
 * Every rule over realistic audit lines (real ingest → real correlate) and GitLab REST rows: each rule
 * finds exactly its positive subjects; the near misses beside them (fixtures/detect/org.ts) raise nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { buildOrg, orgSettings, type Org } from './fixtures/detect/org.js';
import { buildDatabase } from './fixtures/detect/pipeline.js';
import { RULE_IDS, queryFindings, runDetections, type DetectionResult, type ListedFinding } from '../reports/detect/index.js';
import type { KeytrailDb } from '../db/index.js';

let handle: KeytrailDb;
let cleanup: () => void;
let org: Org;
let result: DetectionResult;
let findings: ListedFinding[];

beforeAll(async () => {
  const tmp = tempDir('keytrail-detect-');
  cleanup = tmp.cleanup;
  org = buildOrg();
  handle = await buildDatabase(tmp.dir, org.gitlab, [org.device]);
  result = await runDetections(handle, orgSettings());
  findings = await queryFindings(handle);
}, 60_000);

afterAll(async () => {
  await handle?.close();
  cleanup?.();
});

const requestRules = RULE_IDS.filter((r) => !['audit-gap', 'raw-audit-logging'].includes(r));

describe('each rule finds its positive case and not its near miss', () => {
  it.each(requestRules)('%s', (rule) => {
    const expected = org.expected[rule];
    expect(expected, `fixture has a case for ${rule}`).toBeDefined();
    const subjects = findings.filter((f) => f.rule === rule).map((f) => f.subject);
    if (rule === 'lease-outlived-job') {
      // Every job token here also outlives its job (they are never revoked): only leases are asserted.
      expect(subjects.filter((s) => s.startsWith('lease:')).sort()).toEqual([...expected!].sort());
      return;
    }
    expect(subjects.sort()).toEqual([...expected!].sort());
  });
});

describe('finding rows', () => {
  it('carry evidence times, counts, request ids and an actionable detail', () => {
    const late = findings.find((f) => f.rule === 'token-used-after-job')!;
    expect(late.detail).toBe('job 5001 of acme/payments-api read kv/data/payments/db 17 minutes after it finished, from 10.20.0.5; revoke the token and find who used it.');
    expect(late).toMatchObject({ severity: 'high', status: 'open', count: 1, job_id: 5001, project_id: 101, user_login: 'alice', path: 'kv/data/payments/db', first_seen: '2026-03-02T10:27:00.000123456Z' });
    expect(late.request_ids).toHaveLength(1);

    const burst = findings.find((f) => f.rule === 'permission-denied-burst')!;
    expect(burst.count).toBe(10);
    expect(burst.request_ids).toHaveLength(10);
    expect(burst.first_seen < burst.last_seen).toBe(true);

    const lease = findings.find((f) => f.rule === 'lease-outlived-job' && f.subject.startsWith('lease:'))!;
    expect(lease.lease_id).toBe('database/creds/payments/AbCdEfGhIjKlMnOpQrStUvWx');
    expect(lease.detail).toMatch(/^lease database\/creds\/payments\/AbCdEfGhIjKlMnOpQrStUvWx of job 5001 of acme\/payments-api .* after the job finished/);
  });

  it('use catalogue severities', () => {
    const severities = Object.fromEntries(findings.map((f) => [f.rule, f.severity]));
    expect(severities).toMatchObject({ 'root-token-generated': 'critical', 'claims-mismatch': 'critical', 'audit-device-changed': 'critical', 'off-hours-human-access': 'low', 'policy-changed': 'medium' });
  });

  it('the first run records one "new" event per finding', () => {
    expect(result.new).toBe(findings.length);
    expect(result.event_ids).toHaveLength(findings.length);
  });
});
