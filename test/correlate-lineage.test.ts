import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './fixtures/correlate/harness.js';
import { VaultAudit, at } from './fixtures/correlate/vault-builder.js';

const BASE = '2026-03-02T10:00:00Z';
const t = (s: number) => at(BASE, s);

async function tokenOf(h: Harness, requestId: string): Promise<number | null> {
  const r = await h.handle.db.selectFrom('accesses').select('token_id').where('request_id', '=', requestId).executeTakeFirstOrThrow();
  return r.token_id;
}

async function token(h: Harness, id: number) {
  return h.handle.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describe('token lineage', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('two devices with different HMAC salts: joins stay per device, and a request seen by both links them', async () => {
    const audit = new VaultAudit([
      { name: 'dev-a', salt: 'salt-a' },
      { name: 'dev-b', salt: 'salt-b', lagMicros: 37 },
    ]);
    const tok = audit.token('ci', { displayName: 'jwt-alice', metadata: { role: 'ci', job_id: '1' }, issueTime: t(0) });
    // Device B missed the login; it sees the first read (with A) and a later read alone.
    const login = audit.login(tok, t(0), { devices: ['dev-a'] });
    const both = audit.request(tok, { time: t(10), path: 'secret/data/a' });
    const onlyB = audit.request(tok, { time: t(20), path: 'secret/data/b', devices: ['dev-b'] });
    // A different token whose HMAC in device B equals nothing in device A.
    const other = audit.token('other', { displayName: 'jwt-bob', metadata: { role: 'ci' }, issueTime: t(0) });
    const otherLogin = audit.login(other, t(1), { devices: ['dev-b'] });
    const otherRead = audit.request(other, { time: t(30), path: 'secret/data/c', devices: ['dev-b'] });
    expect(audit.hmac(audit.devices[0]!, tok.accessor!)).not.toBe(audit.hmac(audit.devices[1]!, tok.accessor!));

    h = await harness();
    await h.ingestText('a.log', audit.file('dev-a'), 'dev-a');
    await h.ingestText('b.log', audit.file('dev-b'), 'dev-b');
    await h.correlate();
    const id = await tokenOf(h, login);
    expect(id).not.toBeNull();
    expect(await tokenOf(h, both)).toBe(id);
    expect(await tokenOf(h, onlyB)).toBe(id);
    expect(await tokenOf(h, otherRead)).toBe(await tokenOf(h, otherLogin));
    expect(await tokenOf(h, otherRead)).not.toBe(id);
    const hmacs = await h.handle.db.selectFrom('token_hmacs').selectAll().where('token_id', '=', id!).where('kind', '=', 'accessor').orderBy('device').execute();
    expect(hmacs.map((x) => x.device)).toEqual(['dev-a', 'dev-b']);
    expect(hmacs[0]!.hmac).not.toBe(hmacs[1]!.hmac);
    const row = await h.handle.db.selectFrom('accesses').selectAll().where('request_id', '=', both).executeTakeFirstOrThrow();
    expect(row.devices).toBe('dev-a,dev-b');
    // The accessor as the first device logged it, and the earliest request-entry time over the devices.
    expect(row.token_accessor).toBe(audit.hmac(audit.devices[0]!, tok.accessor!));
    expect(row.time).toBe(t(10));
    expect((await token(h, id!)).request_count).toBe(3);
  });

  it('the same device order in one run or with device B first gives the same joins', async () => {
    const audit = new VaultAudit([
      { name: 'dev-a', salt: 'salt-a' },
      { name: 'dev-b', salt: 'salt-b' },
    ]);
    const tok = audit.token('ci', { displayName: 'jwt-alice', metadata: { role: 'ci' }, issueTime: t(0) });
    const login = audit.login(tok, t(0), { devices: ['dev-a'] });
    audit.request(tok, { time: t(10), path: 'secret/data/a' });
    const onlyB = audit.request(tok, { time: t(20), path: 'secret/data/b', devices: ['dev-b'] });
    h = await harness();
    await h.ingestText('b.log', audit.file('dev-b'), 'dev-b');
    await h.correlate();
    await h.ingestText('a.log', audit.file('dev-a'), 'dev-a');
    await h.correlate();
    expect(await tokenOf(h, onlyB)).toBe(await tokenOf(h, login));
  });

  it('hvs. tokens: request.client_token differs from auth.client_token; joins use auth.accessor, revoke uses data.token', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const tok = audit.token('svc', { displayName: 'jwt-ci', metadata: { role: 'ci' }, issueTime: t(0) });
    const admin = audit.token('admin', { displayName: 'token', metadata: {}, issueTime: t(0), policies: ['root'], ttl: 0 });
    const login = audit.login(tok, t(0));
    const read = audit.request(tok, { time: t(5), path: 'secret/data/x' });
    const revoke = audit.request(admin, { time: t(9), path: 'auth/token/revoke', operation: 'update', data: { token: tok.token } });
    const line = audit.file('file').split('\n').map((l) => (l ? JSON.parse(l) : null)).find((e) => e?.request?.id === read);
    expect(line.request.client_token).not.toBe(line.auth.client_token);
    h = await harness();
    await h.ingestText('audit.log', audit.file('file'), 'file');
    await h.correlate();
    const id = await tokenOf(h, login);
    expect(await tokenOf(h, read)).toBe(id);
    expect(await tokenOf(h, revoke)).not.toBe(id);
    expect(await token(h, id!)).toMatchObject({ revoke_kind: 'revoke', revoke_request_id: revoke, ends_at: t(9.004), end_inferred: 0 });
  });

  it('batch tokens have no accessor and join on auth.client_token', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const b1 = audit.token('b1', { displayName: 'jwt-ci', metadata: { role: 'ci', job_id: '9' }, issueTime: t(0), type: 'batch', ttl: 300 });
    const b2 = audit.token('b2', { displayName: 'jwt-ci', metadata: { role: 'ci', job_id: '9' }, issueTime: t(0), type: 'batch', ttl: 300 });
    const l1 = audit.login(b1, t(0));
    const l2 = audit.login(b2, t(1));
    const r1 = audit.request(b1, { time: t(5), path: 'secret/data/x' });
    const r2 = audit.request(b2, { time: t(6), path: 'secret/data/x' });
    h = await harness();
    await h.ingestText('audit.log', audit.file('file'), 'file');
    await h.correlate();
    expect(await tokenOf(h, r1)).toBe(await tokenOf(h, l1));
    expect(await tokenOf(h, r2)).toBe(await tokenOf(h, l2));
    expect(await tokenOf(h, r1)).not.toBe(await tokenOf(h, r2));
    const t1 = await token(h, (await tokenOf(h, l1))!);
    expect(t1).toMatchObject({ token_type: 'batch', accessor: audit.hmac(audit.devices[0]!, b1.token), ends_at: at(t(0.004), 300).replace(/\.?0+Z$/, 'Z') });
    const kinds = await h.handle.db.selectFrom('token_hmacs').select('kind').where('token_id', '=', t1.id).execute();
    expect(kinds.map((k) => k.kind)).toEqual(['client_token']);
    const row = await h.handle.db.selectFrom('accesses').selectAll().where('request_id', '=', r1).executeTakeFirstOrThrow();
    expect(row.token_accessor).toBeNull();
  });

  it('child tokens from auth/token/create link to their parent and die with it', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const parent = audit.token('parent', { displayName: 'jwt-ci', metadata: { role: 'ci', job_id: '5' }, issueTime: t(0), ttl: 3600 });
    const child = audit.token('child', { displayName: 'token-jwt-ci', metadata: { role: 'ci', job_id: '5' }, issueTime: t(2), ttl: 3600 });
    const login = audit.login(parent, t(0));
    const create = audit.request(parent, { time: t(2), path: 'auth/token/create', operation: 'update' }, { token: child, topLevelIsIssued: false });
    const childRead = audit.request(child, { time: t(3), path: 'secret/data/x' });
    const revoke = audit.request(parent, { time: t(10), path: 'auth/token/revoke-self', operation: 'update' });
    h = await harness();
    await h.ingestText('audit.log', audit.file('file'), 'file');
    await h.correlate();
    const parentId = await tokenOf(h, login);
    expect(await tokenOf(h, create)).toBe(parentId);
    const childId = await tokenOf(h, childRead);
    expect(childId).not.toBe(parentId);
    const c = await token(h, childId!);
    expect(c).toMatchObject({ parent_token_id: parentId, issue_request_id: create, auth_mount: 'auth/token/', orphan: 0 });
    expect(c).toMatchObject({ revoke_kind: 'parent-revoked', revoke_request_id: revoke, end_inferred: 0 });
    expect((await token(h, parentId!)).revoke_kind).toBe('revoke-self');
  });

  it('pairing labels: paired, request-only and response-only', async () => {
    const audit = new VaultAudit([{ name: 'file', salt: 's' }]);
    const tok = audit.token('x', { displayName: 'jwt-ci', metadata: { role: 'ci' }, issueTime: t(0) });
    audit.login(tok, t(0));
    const reqOnly = audit.request(tok, { time: t(1), path: 'secret/data/a', requestOnly: true });
    const respOnly = audit.request(tok, { time: t(2), path: 'secret/data/b', responseOnly: true });
    h = await harness();
    await h.ingestText('audit.log', audit.file('file'), 'file');
    await h.correlate();
    const rows = await h.handle.db.selectFrom('accesses').select(['request_id', 'pairing', 'time']).orderBy('time_key').execute();
    expect(rows.map((r) => r.pairing)).toEqual(['paired', 'request-only', 'response-only']);
    expect(rows.find((r) => r.request_id === reqOnly)!.time).toBe(t(1));
    expect(rows.find((r) => r.request_id === respOnly)!.time).toBe(t(2.004));
  });
});
