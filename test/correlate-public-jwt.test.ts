import { afterEach, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { harness, type Harness } from './fixtures/correlate/harness.js';

const SAMPLE = resolve(import.meta.dirname, 'fixtures/public/vault/tallen-hashicorp__vault-tfc-jwt-dynamic-example__docs_audit.jsonl');

describe('public JWT sample (Vault 1.17.3: login, renew-self, lookup-self ×2, KV read, revoke-self)', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('joins every request to the one token the login issued, renewed then revoked by itself', async () => {
    h = await harness();
    await h.ingestFile(SAMPLE, 'file');
    const summary = await h.correlate();
    expect(summary.requests).toBe(6);
    expect(summary.tokens).toBe(1);

    const rows = await h.handle.db.selectFrom('accesses').selectAll().orderBy('time_key').orderBy('request_id').execute();
    expect(rows.map((r) => r.path)).toEqual([
      'auth/jwt/login',
      'auth/token/renew-self',
      'auth/token/lookup-self',
      'auth/token/lookup-self',
      'secret/data/s3',
      'auth/token/revoke-self',
    ]);
    const tokenIds = new Set(rows.map((r) => r.token_id));
    expect(tokenIds.size).toBe(1);
    expect([...tokenIds][0]).not.toBeNull();
    expect(rows.every((r) => r.pairing === 'paired' && r.outcome === 'ok')).toBe(true);
    expect(rows.every((r) => r.role === 'tfc-role' && r.auth_mount === 'auth/jwt/')).toBe(true);
    expect(rows.filter((r) => r.is_secret_access === 1).map((r) => r.path)).toEqual(['secret/data/s3']);
    // The login's request id was redacted by the sample's author; it is still one paired request.
    expect(rows[0]!.request_id).toBe('****');
    expect(rows[0]!.time).toBe('2024-08-15T13:15:03.448238519Z');
    // No job is named and no role is configured: nothing ties it to a job.
    expect(rows.every((r) => r.attribution === 'none' && r.verified === null)).toBe(true);

    const tokens = await h.handle.db.selectFrom('tokens').selectAll().execute();
    expect(tokens).toHaveLength(1);
    const t = tokens[0]!;
    expect(t.issue_request_id).toBe('****');
    expect(t.token_type).toBe('service');
    expect(t.ttl_seconds).toBe(1200);
    expect(t.display_name).toBe('jwt-organization:***:project:***:workspace:****');
    expect(t.entity_id).toBe('c67ec5d4-310a-ec11-cac8-cdeff0fd9878');
    expect(t.request_count).toBe(6);
    expect(t.last_renewed_at).toBe('2024-08-15T13:15:03.529206348Z');
    expect(t.revoke_kind).toBe('revoke-self');
    expect(t.revoke_request_id).toBe('f740af83-3ebe-2146-f7c9-d0421bdd5482');
    expect(t.ends_at).toBe('2024-08-15T13:15:25.483841497Z');
    expect(t.end_inferred).toBe(0);
  });

  it('a second run with nothing new changes nothing and reports zeros', async () => {
    h = await harness();
    await h.ingestFile(SAMPLE, 'file');
    await h.correlate();
    const before = await h.handle.db.selectFrom('accesses').selectAll().execute();
    const again = await h.correlate();
    expect(again).toEqual({
      requests: 0,
      attribution: { claims: 0, 'correlation-id': 0, heuristic: 0, none: 0 },
      verified: { yes: 0, no: 0, unknown: 0 },
      tokens: 0,
      leases: { open: 0, ended: 0, outlived: 0 },
    });
    expect(await h.handle.db.selectFrom('accesses').selectAll().execute()).toEqual(before);
  });
});
