/**
 * Incremental and idempotent: the same data fed in one batch or in random slices (ingest + correlate after
 * each) ends in the same rows; a run with nothing new changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness, storeGitlab, type Harness } from './fixtures/correlate/harness.js';
import { buildScenario, GITLAB, ROLES, BASE } from './fixtures/correlate/scenario.js';
import { at } from './fixtures/correlate/vault-builder.js';
import { ingestVaultFiles } from '../ingest/index.js';
import type { KeytrailDb } from '../db/index.js';

const SETTINGS = { roles: ROLES, ttlOverrides: { 'database/creds/': 1800 } };

/** Adds leases, renewals and revocations to the scenario so every derived table has rows. */
function buildData(devices: { name: string; salt: string; lagMicros?: number }[]) {
  const s = buildScenario(devices);
  const a = s.audit;
  const good = s.tokens.good!;
  const l1 = a.leaseRead(good, at(BASE, 200), 'database/creds/app');
  const l2 = a.leaseRead(good, at(BASE, 210), 'database/creds/app');
  a.request(good, { time: at(BASE, 220), path: `sys/leases/renew/${l1.leaseId}`, operation: 'update', leaseId: l1.leaseId });
  a.request(good, { time: at(BASE, 230), path: `sys/leases/revoke/${l2.leaseId}`, operation: 'update' });
  const l3 = a.leaseRead(s.tokens.heur!, at(BASE, 330), 'aws/creds/deploy');
  a.request(s.tokens.human!, { time: at(BASE, 700), path: 'sys/leases/revoke-prefix/aws/creds', operation: 'update' });
  a.request(s.tokens.late!, { time: at(BASE, 1900), path: 'auth/token/revoke-self', operation: 'update' });
  a.request(s.tokens.human!, { time: at(BASE, 1950), path: 'auth/token/revoke', operation: 'update', data: { token: s.tokens.fork!.token } });
  const serverLog = `${new Date(Date.parse(BASE) + 800_000).toISOString()} [INFO]  expiration: revoked lease: lease_id=${l1.leaseId}\n`;
  return { s, serverLog, leases: [l1, l2, l3] };
}

/** Every derived row, with surrogate ids replaced by stable keys (the token's accessor HMAC). */
async function snapshot(handle: KeytrailDb) {
  const tokens = await handle.db.selectFrom('tokens').selectAll().execute();
  const key = new Map(tokens.map((t) => [t.id, `${t.accessor}|${t.issue_request_id}`]));
  const k = (id: number | null) => (id === null ? null : (key.get(id) ?? `missing:${id}`));
  const accesses = (await handle.db.selectFrom('accesses').selectAll().orderBy('request_id').execute()).map(
    ({ request_entry_id: _a, response_entry_id: _b, token_id, ...r }) => ({ ...r, token: k(token_id) }),
  );
  const tokenRows = tokens
    .map(({ id, parent_token_id, ...t }) => ({ ...t, key: k(id), parent: k(parent_token_id) }))
    .sort((x, y) => (x.key! < y.key! ? -1 : 1));
  const hmacs = (await handle.db.selectFrom('token_hmacs').selectAll().execute())
    .map(({ token_id, ...r }) => ({ ...r, token: k(token_id) }))
    .sort((x, y) => (`${x.device}${x.kind}${x.hmac}` < `${y.device}${y.kind}${y.hmac}` ? -1 : 1));
  const leases = (await handle.db.selectFrom('leases').selectAll().orderBy('lease_id').execute()).map(({ token_id, ...l }) => ({ ...l, token: k(token_id) }));
  return { accesses, tokens: tokenRows, hmacs, leases };
}

/** A small deterministic PRNG (mulberry32) so a failing seed can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function cutPoints(length: number, parts: number, random: () => number): number[] {
  const cuts = new Set<number>();
  while (cuts.size < parts - 1) cuts.add(1 + Math.floor(random() * (length - 1)));
  return [0, ...[...cuts].sort((a, b) => a - b), length];
}

describe('incremental correlation', () => {
  const opened: Harness[] = [];
  afterEach(async () => {
    for (const h of opened.splice(0)) await h.close();
  });

  async function oneShot(files: Record<string, string>, serverLog: string) {
    const h = await emptyHarness();
    for (const [device, text] of Object.entries(files)) await h.ingestText(`${device}.log`, text, device);
    await h.serverLog('server.log', serverLog);
    await h.correlate(SETTINGS);
    return h;
  }

  /** A harness with the GitLab facts stored and nothing ingested. */
  async function emptyHarness() {
    const h = await harness();
    opened.push(h);
    await storeGitlab(h.handle, GITLAB, '2026-03-02T12:00:00.000Z');
    return h;
  }

  /** Two devices (their own salts, one lagging) logging the same requests, and the rows of one run over both. */
  async function twoDevices() {
    const { s, serverLog } = buildData([
      { name: 'node-a', salt: 'salt-a' },
      { name: 'node-b', salt: 'salt-b', lagMicros: 11 },
    ]);
    const files = { 'node-a': s.audit.file('node-a'), 'node-b': s.audit.file('node-b') };
    const reference = await snapshot((await oneShot(files, serverLog)).handle);
    return { files, serverLog, reference };
  }

  it.each([1, 2, 3])('one batch and random slices end in the same rows (seed %i)', async (seed) => {
    const { s, serverLog } = buildData([{ name: 'file', salt: 'salt-1' }]);
    const text = s.audit.file('file');
    const reference = await snapshot((await oneShot({ file: text }, serverLog)).handle);
    expect(reference.accesses.length).toBeGreaterThan(30);
    expect(reference.leases.length).toBe(3);

    const h = await emptyHarness();
    const path = join(h.dir, 'file.log');
    writeFileSync(path, '');
    const random = rng(seed);
    const bytes = Buffer.from(text);
    const cuts = cutPoints(bytes.length, 6, random);
    for (let i = 1; i < cuts.length; i++) {
      // The file grows at an arbitrary byte (mid-line too); ingest reads complete lines only.
      appendFileSync(path, bytes.subarray(cuts[i - 1]!, cuts[i]!));
      await ingestVaultFiles(h.handle, [path], { device: 'file', workerThresholdBytes: Number.MAX_SAFE_INTEGER });
      if (i === 3) await h.serverLog('server.log', serverLog);
      await h.correlate(SETTINGS);
    }
    expect(await snapshot(h.handle)).toEqual(reference);
  });

  it.each([5, 13])('two devices read in one run, in chunks of %i copies, end in the same rows as one chunk', async (chunkSize) => {
    // Each request is read with every device's copy the first time one of its copies comes up; when the other
    // device's copies come up in a later chunk of the same run it is not processed again.
    const { files, serverLog, reference } = await twoDevices();
    const h = await emptyHarness();
    for (const [device, text] of Object.entries(files)) await h.ingestText(`${device}.log`, text, device);
    await h.serverLog('server.log', serverLog);
    const summary = await h.correlate(SETTINGS, { chunkSize });
    expect(summary.requests).toBe(reference.accesses.length);
    expect(await snapshot(h.handle)).toEqual(reference);
  });

  it('two devices fed in interleaved random slices end in the same rows as one run', async () => {
    const { files, serverLog, reference } = await twoDevices();
    const h = await emptyHarness();
    await h.serverLog('server.log', serverLog);
    const random = rng(42);
    const plan = Object.entries(files).map(([device, text]) => {
      const bytes = Buffer.from(text);
      const path = join(h.dir, `${device}.log`);
      writeFileSync(path, '');
      return { device, path, bytes, cuts: cutPoints(bytes.length, 4, random), next: 1 };
    });
    while (plan.some((p) => p.next < p.cuts.length)) {
      const open = plan.filter((p) => p.next < p.cuts.length);
      const p = open[Math.floor(random() * open.length)]!;
      appendFileSync(p.path, p.bytes.subarray(p.cuts[p.next - 1]!, p.cuts[p.next]!));
      p.next++;
      await ingestVaultFiles(h.handle, [p.path], { device: p.device, workerThresholdBytes: Number.MAX_SAFE_INTEGER });
      await h.correlate(SETTINGS);
    }
    expect(await snapshot(h.handle)).toEqual(reference);
  });

  it('a second run with nothing new reports zeros and rewrites nothing', async () => {
    const { s, serverLog } = buildData([{ name: 'file', salt: 'salt-1' }]);
    const h = await oneShot({ file: s.audit.file('file') }, serverLog);
    const before = await snapshot(h.handle);
    const changes = h.handle.sqlite.prepare('SELECT total_changes() AS n');
    const n0 = (changes.get() as { n: number }).n;
    const again = await h.correlate(SETTINGS);
    expect(again).toEqual({
      requests: 0,
      attribution: { claims: 0, 'correlation-id': 0, heuristic: 0, none: 0 },
      verified: { yes: 0, no: 0, unknown: 0 },
      tokens: 0,
      leases: { open: 0, ended: 0, outlived: 0 },
    });
    expect(await snapshot(h.handle)).toEqual(before);
    // Only the run's own bookkeeping (state rows) may be written.
    const written = (changes.get() as { n: number }).n - n0;
    expect(written).toBeLessThanOrEqual(3);
  });

  it('changed settings (roles) re-evaluate the rows they affect', async () => {
    const { s, serverLog } = buildData([{ name: 'file', salt: 'salt-1' }]);
    const h = await oneShot({ file: s.audit.file('file') }, serverLog);
    const heur = () => h.handle.db.selectFrom('accesses').select(['attribution', 'job_id']).where('request_id', '=', s.req['heur.read']!).executeTakeFirstOrThrow();
    expect(await heur()).toEqual({ attribution: 'heuristic', job_id: 1003 });
    const summary = await h.correlate({ ...SETTINGS, roles: {} });
    expect(summary.requests).toBeGreaterThan(0);
    expect(await heur()).toEqual({ attribution: 'none', job_id: null });
  });
});
