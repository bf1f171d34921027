/**
 * Byte-identical packs for the same database and arguments (signed, zip included), the chain to the previous
 * period's pack, and an empty period that still yields a valid pack saying so.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { insertScenario } from './fixtures/report/scenario.js';
import { zipEntries } from './fixtures/report/zip-entries.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-report-det-');
const db = join(tmp.dir, 'keytrail.db');
const config = join(tmp.dir, 'keytrail.yaml');
const AT = '2026-04-01T02:00:00Z';

function files(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(dir, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

function report(from: string, to: string, out: string, extra: string[] = []) {
  return runCli(['report', 'soc2', '--from', from, '--to', to, '--out', out, '--generated-at', AT, '--db', db, '--config', config, ...extra]);
}

beforeAll(async () => {
  const handle = await openDatabase(db);
  insertScenario(handle);
  await handle.close();
  const k = await runCli(['keygen', '--out', join(tmp.dir, 'signing')]);
  expect(k.code).toBe(0);
  writeFileSync(config, 'signing:\n  private_key_file: signing.key\nreport:\n  sample_size: 4\n');
});

afterAll(() => tmp.cleanup());

describe('report soc2 determinism', () => {
  it('writes byte-identical files, signature and zip for the same database and arguments', async () => {
    const a = join(tmp.dir, 'a', 'pack');
    const b = join(tmp.dir, 'b', 'pack');
    expect((await report('2026-03-01', '2026-03-02', a)).code).toBe(0);
    expect((await report('2026-03-01', '2026-03-02', b)).code).toBe(0);
    const list = files(a);
    expect(list).toEqual(files(b));
    expect(list).toContain('manifest.sig');
    for (const f of list) expect(sha(join(b, f)), f).toBe(sha(join(a, f)));
    expect(sha(`${b}.zip`)).toBe(sha(`${a}.zip`));
    // Entry times are generated_at, not the time of writing.
    const entries = zipEntries(`${a}.zip`);
    expect(entries.map((e) => e.name)).toEqual(['pack/report.pdf', 'pack/manifest.json', 'pack/manifest.sig', 'pack/completeness.json', 'pack/queries.sql', ...['secret-accesses', 'tokens', 'leases', 'config-changes', 'findings', 'sample'].map((p) => `pack/populations/${p}.csv`)]);
    for (const e of entries) expect(e.mtime?.toISOString()).toBe('2026-04-01T02:00:00.000Z');
    expect(manifestOf(a).row_counts.sample).toBe(4);
  });

  it('changes the PDF when only --generated-at changes (the time is really in it)', async () => {
    const c = join(tmp.dir, 'c', 'pack');
    expect((await runCli(['report', 'soc2', '--from', '2026-03-01', '--to', '2026-03-02', '--out', c, '--generated-at', '2026-04-02T00:00:00Z', '--db', db, '--config', config])).code).toBe(0);
    expect(sha(join(c, 'report.pdf'))).not.toBe(sha(join(tmp.dir, 'a', 'pack', 'report.pdf')));
    expect(sha(join(c, 'populations', 'secret-accesses.csv'))).toBe(sha(join(tmp.dir, 'a', 'pack', 'populations', 'secret-accesses.csv')));
  });

  it('draws another sample with another seed, the same one with the same seed', async () => {
    const s1 = join(tmp.dir, 's1', 'pack');
    const s2 = join(tmp.dir, 's2', 'pack');
    expect((await report('2026-03-01', '2026-03-02', s1, ['--seed', 'auditor-2026', '--sample-size', '3'])).code).toBe(0);
    expect((await report('2026-03-01', '2026-03-02', s2, ['--seed', 'auditor-2026', '--sample-size', '3'])).code).toBe(0);
    const ids = (dir: string) => readFileSync(join(dir, 'populations', 'sample.csv'), 'utf8').trim().split('\r\n').slice(1).map((l) => l.split(',')[2]);
    expect(ids(s1)).toEqual(ids(s2));
    expect(ids(s1)).toHaveLength(3);
    const expected = ['r2', 'r3', 'r4', 'r5', 'r7', 'r8']
      .map((id) => [createHash('sha3-256').update(`auditor-2026:${id}`).digest('hex'), id])
      .sort()
      .slice(0, 3)
      .map(([, id]) => id);
    expect(ids(s1)).toEqual(expected);
  });
});

describe('report soc2 chain to the previous period', () => {
  it('chains March to February, never to itself, and February to nothing', async () => {
    const feb = join(tmp.dir, 'chain', '2026-02');
    const mar = join(tmp.dir, 'chain', '2026-03');
    expect((await report('2026-02-01', '2026-02-28', feb)).code).toBe(0);
    expect(manifestOf(feb).previous_manifest_sha256).toBeNull();
    expect((await report('2026-03-01', '2026-03-31', mar)).code).toBe(0);
    const febSha = sha(join(feb, 'manifest.json'));
    expect(manifestOf(mar).previous_manifest_sha256).toBe(febSha);
    // Regenerating March chains to February again, not to the first March pack.
    expect((await report('2026-03-01', '2026-03-31', mar)).code).toBe(0);
    expect(manifestOf(mar).previous_manifest_sha256).toBe(febSha);
    const text = execFileSync('pdftotext', [join(mar, 'report.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, '');
    expect(text).toContain(febSha);
    const handle = await openDatabase(db);
    const packs = await handle.db.selectFrom('packs').selectAll().where('out_dir', 'like', '%chain%').orderBy('id').execute();
    await handle.close();
    expect(packs.map((p) => p.period_from)).toEqual(['2026-02-01', '2026-03-01', '2026-03-01']);
  });
});

describe('report soc2 on an empty period', () => {
  it('writes a valid pack with empty populations that says the period holds nothing', async () => {
    const empty = join(tmp.dir, 'empty', '2025-01');
    expect((await report('2025-01-01', '2025-01-31', empty)).code).toBe(0);
    const m = manifestOf(empty);
    expect(m.row_counts).toEqual({ 'secret-accesses': 0, tokens: 0, leases: 0, 'config-changes': 0, findings: 0, sample: 0 });
    expect(readFileSync(join(empty, 'populations', 'secret-accesses.csv'), 'utf8').split('\r\n')).toHaveLength(2); // header + final CRLF
    const text = execFileSync('pdftotext', [join(empty, 'report.pdf'), '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain('This period holds no audited activity');
    expect(text).toMatch(/Controls: PASS \/ FAIL \/ MANUAL 0 ?\/ ?0 ?\/ ?9/);
    const c = JSON.parse(readFileSync(join(empty, 'completeness.json'), 'utf8'));
    expect(c.totals).toEqual({ lines_read: 0, stored: 0, duplicates: 0, quarantined: 0 });
    expect(c.pairing.rate).toBeNull();
    const v = await runCli(['verify', empty, '--public-key', join(tmp.dir, 'signing.pub')]);
    expect(v.stdout).toContain('signature valid');
    expect(v.code).toBe(0);
  });

  it('refuses to write into a directory holding other files', async () => {
    const dir = join(tmp.dir, 'notapack');
    mkdirSync(dir);
    writeFileSync(join(dir, 'thesis.docx'), 'precious');
    const r = await report('2026-03-01', '2026-03-02', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('thesis.docx');
    expect(readFileSync(join(dir, 'thesis.docx'), 'utf8')).toBe('precious');
  });

  it('rejects --from after --to as a usage error', async () => {
    const r = await report('2026-03-02', '2026-03-01', join(tmp.dir, 'bad'));
    expect(r.code).toBe(2);
  });
});
