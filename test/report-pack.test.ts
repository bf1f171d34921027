/**
 * The SOC 2 evidence pack against a known scenario (test/fixtures/report/scenario.ts), through the real CLI:
 * the exact file set, population counts in the CSVs and in the PDF text, queries.sql re-performed with the
 * sqlite3 shell byte for byte, completeness figures, the recomputed hash chain, the sample's raw line hashes,
 * muted findings with their reason, and `verify`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.js';
import { insertScenario, EXPECTED } from './fixtures/report/scenario.js';
import { zipEntries } from './fixtures/report/zip-entries.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-report-');
const db = join(tmp.dir, 'keytrail.db');
const pack = join(tmp.dir, 'packs', '2026-03');
let pdfText = '';

function csvRows(file: string): string[][] {
  const text = readFileSync(join(pack, 'populations', file), 'utf8');
  expect(text.endsWith('\r\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\r\n')
    .map((l) => l.split(','));
}

beforeAll(async () => {
  const handle = await openDatabase(db);
  insertScenario(handle);
  await handle.close();
  const r = await runCli(['report', 'soc2', '--from', '2026-03-01', '--to', '2026-03-02', '--out', pack, '--generated-at', '2026-03-04T06:00:00Z', '--db', db], { cwd: tmp.dir });
  expect(r.stderr).not.toContain('unexpected');
  expect(r.code).toBe(0);
  pdfText = execFileSync('pdftotext', ['-layout', join(pack, 'report.pdf'), '-'], { encoding: 'utf8' });
});

afterAll(() => {
  // KEYTRAIL_KEEP_PACK=DIR keeps the pack and its database for a person to look at (pdftoppm).
  if (process.env.KEYTRAIL_KEEP_PACK) cpSync(tmp.dir, process.env.KEYTRAIL_KEEP_PACK, { recursive: true });
  tmp.cleanup();
});

describe('report soc2 on a known scenario', () => {
  it('writes exactly the files of the contract, and DIR.zip beside the directory', () => {
    const list = (dir: string, prefix = ''): string[] =>
      readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? list(dir, `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
    expect(list(pack).sort()).toEqual(
      [
        'completeness.json',
        'manifest.json',
        'populations/config-changes.csv',
        'populations/findings.csv',
        'populations/leases.csv',
        'populations/sample.csv',
        'populations/secret-accesses.csv',
        'populations/tokens.csv',
        'queries.sql',
        'report.pdf',
      ].sort(),
    );
    expect(existsSync(`${pack}.zip`)).toBe(true);
    const entries = zipEntries(`${pack}.zip`).map((e) => e.name);
    expect(entries[0]).toBe('2026-03/report.pdf');
    expect(entries).toContain('2026-03/populations/sample.csv');
  });

  it('counts the populations in the CSVs and the manifest', () => {
    const accesses = csvRows('secret-accesses.csv');
    expect(accesses[0]!.slice(0, 3)).toEqual(['request_id', 'time', 'devices']);
    expect(accesses.slice(1).map((r) => r[0])).toEqual(['r2', 'r3', 'r4', 'r5', 'r7', 'r8']);
    expect(csvRows('config-changes.csv').slice(1).map((r) => r[0])).toEqual(['r6']);
    expect(csvRows('tokens.csv')).toHaveLength(EXPECTED.tokens + 1);
    expect(csvRows('leases.csv')).toHaveLength(EXPECTED.leases + 1);
    expect(csvRows('findings.csv')).toHaveLength(EXPECTED.findings + 1);
    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest)).toEqual([
      'period', 'generated_at', 'tool_version', 'config_sha256', 'files', 'row_counts', 'data_sha256', 'previous_manifest_sha256', 'batch_chain_heads',
    ]);
    expect(manifest.row_counts).toEqual({ 'secret-accesses': 6, tokens: 3, leases: 1, 'config-changes': 1, findings: 3, sample: 6 });
    expect(manifest.period).toEqual({ from: '2026-03-01', to: '2026-03-02' });
    expect(manifest.generated_at).toBe('2026-03-04T06:00:00.000Z');
    expect(manifest.previous_manifest_sha256).toBeNull();
    expect(Object.keys(manifest.batch_chain_heads)).toEqual(['file-a', 'file-b']);
  });

  it('hashes every file in the manifest, and data_sha256 covers all but report.pdf and manifest.*', () => {
    const manifest = JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8'));
    for (const f of manifest.files) {
      const bytes = readFileSync(join(pack, f.path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
      expect(bytes.length).toBe(f.bytes);
    }
    const lines = manifest.files
      .filter((f: { path: string }) => f.path !== 'report.pdf')
      .map((f: { path: string; sha256: string }) => `${f.sha256}  ${f.path}\n`)
      .join('');
    expect(createHash('sha256').update(lines).digest('hex')).toBe(manifest.data_sha256);
    expect(pdfText.replace(/\s+/g, ' ')).toContain(manifest.data_sha256);
  });

  it('prints the same counts in the PDF', () => {
    const text = pdfText.replace(/\s+/g, ' ');
    expect(text).toMatch(/Secret accesses \(populations\/secret-accesses\.csv\) 6/);
    expect(text).toMatch(/Tokens \(populations\/tokens\.csv\) 3/);
    expect(text).toMatch(/Configuration changes \(populations\/config-changes\.csv\) 1/);
    expect(text).toMatch(/Lines read 16/);
    expect(text).toMatch(/Quarantined 1 \(empty: 1\)/);
    expect(text).toContain('Page 1 of');
    expect(text).toContain('period 2026-03-01 00:00 to 2026-03-02 24:00 UTC');
    for (const c of ['CC6.1', 'CC6.2', 'CC6.3', 'CC6.6', 'CC6.7', 'CC7.1', 'CC7.2', 'CC7.3', 'CC8.1']) expect(text).toContain(c);
  });

  it('keeps every word inside the page margins (tables wrap, long paths break)', () => {
    const html = execFileSync('pdftotext', ['-bbox', join(pack, 'report.pdf'), '-'], { encoding: 'utf8' });
    const words = [...html.matchAll(/<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g)];
    expect(words.length).toBeGreaterThan(500);
    // A4 is 595.28 points wide; the layout keeps 50 points of margin on each side.
    const outside = words.filter((w) => Number(w[1]) < 49.5 || Number(w[2]) > 545.8 || Number(w[3]) > 841.89);
    expect(outside.map((w) => w[4])).toEqual([]);
    expect(html).toContain('until-it-must-wrap');
  });

  it('shows muted findings with their reason and owner', () => {
    const text = pdfText.replace(/\s+/g, ' ');
    expect(text).toContain('Quarterly break-glass drill, ticket SEC-42');
    expect(text).toContain('security-team');
    const findings = readFileSync(join(pack, 'populations', 'findings.csv'), 'utf8');
    expect(findings).toContain('muted');
    expect(findings).toContain('"Approved change CHG-7"');
    expect(findings).not.toContain('Outside the period');
  });

  it('re-performs every population and summary with the sqlite3 shell, byte for byte', () => {
    const dir = join(tmp.dir, 'reperform');
    mkdirSync(dir);
    execFileSync('sqlite3', [db], { cwd: dir, input: readFileSync(join(pack, 'queries.sql')) });
    for (const name of ['secret-accesses', 'tokens', 'leases', 'config-changes', 'findings']) {
      expect(readFileSync(join(dir, `${name}.csv`), 'utf8'), name).toBe(readFileSync(join(pack, 'populations', `${name}.csv`), 'utf8'));
    }
    const sample = readFileSync(join(pack, 'populations', 'sample.csv'), 'utf8').split('\r\n');
    const redrawn = readFileSync(join(dir, 'sample.csv'), 'utf8').split('\r\n');
    expect(redrawn.map((l) => l)).toEqual(sample.map((l) => (l ? l.slice(0, l.lastIndexOf(',')) : l)));
    // The completeness figures the pack computes in one scan equal what the summary queries give.
    const c = JSON.parse(readFileSync(join(pack, 'completeness.json'), 'utf8'));
    const rows = (name: string) => readFileSync(join(dir, `${name}.csv`), 'utf8').trim().split('\r\n').slice(1);
    expect(c.audit_gaps.length).toBeGreaterThan(0);
    expect(rows('audit-gaps')).toEqual(c.audit_gaps.map((g: Record<string, unknown>) => [g.device, g.gap_start, g.gap_end, g.minutes].join(',')));
    expect(rows('device-coverage')).toEqual(c.device_coverage.map((d: Record<string, unknown>) => [d.device, d.first, d.last, d.lines].join(',')));
    expect(rows('lines-per-device-day')).toEqual(
      c.per_device_day.map((r: { device: string; day: string; lines_read: number; quarantined: number; stored: number; duplicates: number }) => [r.device, r.day, r.lines_read - r.quarantined, r.stored, r.duplicates].join(',')),
    );
  });

  it('writes the completeness figures and recomputes each device chain', () => {
    const c = JSON.parse(readFileSync(join(pack, 'completeness.json'), 'utf8'));
    expect(c.totals).toEqual({ lines_read: 16, stored: 9, duplicates: 6, quarantined: 1 });
    expect(c.per_device_day).toContainEqual({ device: 'file-b', day: '2026-03-01', lines_read: 6, stored: 0, duplicates: 6, quarantined: 0 });
    expect(c.pairing).toEqual({ paired: 8, request_only: 1, response_only: 0, total: 9, rate: 0.8889 });
    expect(c.claimed_jobs).toEqual({ claimed: 3, found_in_gitlab: 2, share: 0.6667 });
    expect(c.hash_chains.map((h: { device: string; status: string }) => [h.device, h.status])).toEqual([['file-a', 'intact'], ['file-b', 'intact']]);
    expect(c.audit_gaps.length).toBeGreaterThan(0);
  });

  it('hashes the raw audit line of every sampled access', () => {
    const rows = readFileSync(join(pack, 'populations', 'sample.csv'), 'utf8').trim().split('\r\n');
    const header = rows[0]!.split(',');
    const idx = header.indexOf('raw_line_sha256');
    const reqIdx = header.indexOf('request_id');
    expect(rows).toHaveLength(7);
    // request_id (3rd) and raw_line_sha256 (last) are never quoted, so splitting on the first and last commas is safe.
    const r2 = rows.slice(1).map((r) => r.split(',')).find((r) => r[reqIdx] === 'r2')!;
    // r2's request line as the scenario wrote it.
    const expected = createHash('sha256')
      .update(JSON.stringify({
        time: '2026-03-01T10:00:01.5Z',
        type: 'request',
        auth: { accessor: `hmac-sha256:${createHash('sha256').update('acc1').digest('hex')}`, display_name: 'jwt-ci', metadata: { job_id: '5001', project_id: '10', role: 'ci' } },
        request: { id: 'r2', operation: 'read', path: 'kv/data/payments/db', remote_address: '10.0.0.5' },
      }))
      .digest('hex');
    expect(idx).toBe(header.length - 1);
    expect(r2[r2.length - 1]).toBe(expected);
    expect(pdfText.replace(/\s+/g, '')).toContain(expected);
  });

  it('verify accepts the untouched pack and says the signature was not checked', async () => {
    const r = await runCli(['verify', pack]);
    expect(r.stdout + r.stderr).toContain('OK: 9 files match');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('signature not checked');
  });

  it('records the pack in the database', async () => {
    const handle = await openDatabase(db);
    const rows = await handle.db.selectFrom('packs').selectAll().execute();
    await handle.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.period_from).toBe('2026-03-01');
    expect(rows[0]!.manifest_sha256).toBe(createHash('sha256').update(readFileSync(join(pack, 'manifest.json'))).digest('hex'));
    expect(statSync(`${pack}.zip`).size).toBeGreaterThan(1000);
  });
});
