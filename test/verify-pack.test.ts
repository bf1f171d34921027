/**
 * `keytrail verify` and `keytrail keygen`: a signed pack verifies; a tampered CSV byte, a deleted file, an
 * added file, an altered manifest and an altered signature each fail with exit 1 and name what is wrong.
 */
import { cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { insertScenario } from './fixtures/report/scenario.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-verify-');
const db = join(tmp.dir, 'keytrail.db');
const pack = join(tmp.dir, 'pack');
const pub = join(tmp.dir, 'signing.pub');
let n = 0;

/** A fresh copy of the pristine pack to tamper with. */
function copy(): string {
  const dir = join(tmp.dir, `copy-${n++}`);
  cpSync(pack, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  const handle = await openDatabase(db);
  insertScenario(handle);
  await handle.close();
  expect((await runCli(['keygen', '--out', join(tmp.dir, 'signing')])).code).toBe(0);
  writeFileSync(join(tmp.dir, 'keytrail.yaml'), 'signing:\n  private_key_file: signing.key\n');
  const r = await runCli(['report', 'soc2', '--from', '2026-03-01', '--to', '2026-03-02', '--out', pack, '--db', db, '--config', join(tmp.dir, 'keytrail.yaml')]);
  expect(r.code).toBe(0);
});

afterAll(() => tmp.cleanup());

describe('keygen', () => {
  it('writes PREFIX.key with mode 0600 and PREFIX.pub, and never overwrites them', async () => {
    expect(statSync(join(tmp.dir, 'signing.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(tmp.dir, 'signing.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readFileSync(pub, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const again = await runCli(['keygen', '--out', join(tmp.dir, 'signing')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });
});

describe('verify', () => {
  it('accepts the untouched signed pack with its public key', async () => {
    const r = await runCli(['verify', pack, '--public-key', pub]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/OK: 9 files match the manifest; signature valid/);
  });

  it('names a CSV with one byte changed', async () => {
    const dir = copy();
    const file = join(dir, 'populations', 'tokens.csv');
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 1;
    writeFileSync(file, bytes);
    const r = await runCli(['verify', dir, '--public-key', pub]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('altered: populations/tokens.csv');
    expect(r.stdout).not.toContain('bad signature');
  });

  it('names a deleted file', async () => {
    const dir = copy();
    rmSync(join(dir, 'queries.sql'));
    const r = await runCli(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('missing: queries.sql');
  });

  it('names an added file', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'populations', 'extra.csv'), 'a\r\n');
    const r = await runCli(['verify', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('extra: populations/extra.csv');
  });

  it('rejects an altered manifest: a bad signature with the key, an inconsistent data_sha256 without', async () => {
    const dir = copy();
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.row_counts['secret-accesses'] = 5;
    writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
    const r = await runCli(['verify', dir, '--public-key', pub]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('bad signature');

    const dir2 = copy();
    const m2 = JSON.parse(readFileSync(join(dir2, 'manifest.json'), 'utf8'));
    const entry = m2.files.find((f: { path: string }) => f.path === 'populations/leases.csv');
    writeFileSync(join(dir2, 'populations', 'leases.csv'), 'forged\r\n');
    entry.sha256 = '0'.repeat(64);
    writeFileSync(join(dir2, 'manifest.json'), `${JSON.stringify(m2, null, 2)}\n`);
    const r2 = await runCli(['verify', dir2]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain('altered: populations/leases.csv');
    expect(r2.stdout).toContain('altered: manifest.json (data_sha256 does not match its file entries)');
  });

  it('rejects an altered signature, and a signature checked with another key', async () => {
    const dir = copy();
    const sig = Buffer.from(readFileSync(join(dir, 'manifest.sig'), 'utf8').trim(), 'base64');
    sig[0] = sig[0]! ^ 0xff;
    writeFileSync(join(dir, 'manifest.sig'), `${sig.toString('base64')}\n`);
    const r = await runCli(['verify', dir, '--public-key', pub]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('bad signature');

    expect((await runCli(['keygen', '--out', join(tmp.dir, 'other')])).code).toBe(0);
    const r2 = await runCli(['verify', pack, '--public-key', join(tmp.dir, 'other.pub')]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain('bad signature');
  });

  it('says the signature was not checked without a key, and fails when a key is given for an unsigned pack', async () => {
    const r = await runCli(['verify', pack]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('signature not checked');
    const dir = copy();
    rmSync(join(dir, 'manifest.sig'));
    const r2 = await runCli(['verify', dir, '--public-key', pub]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain('missing: manifest.sig');
  });
});
