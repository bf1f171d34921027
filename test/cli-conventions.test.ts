import { describe, expect, it, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { spawn } from 'node:child_process';
import { CLI, runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('CLI conventions', () => {
  it('prints help and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: keytrail');
  });

  it('stops quietly when the reader of its output closes the pipe early (`keytrail … | head`)', async () => {
    const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader is gone before keytrail writes: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('exits 2 with a one-line message on a bad flag value', async () => {
    const r = await runCli(['query', 'accesses', '--limit', 'many', '--db', join(tmp.dir, 'a.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--limit must be a non-negative integer');
    expect(r.stdout).toBe('');
  });

  it('exits 2 for a PostgreSQL URL until that dialect lands', async () => {
    const r = await runCli(['migrate', '--db', 'postgres://localhost/keytrail']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PostgreSQL support is not available yet');
  });

  it('serve exits 2 "not available yet"', async () => {
    const r = await runCli(['serve']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not available yet');
  });

  it('migrate --status lists every migration as applied, as JSON when asked', async () => {
    const db = join(tmp.dir, 'm.db');
    const r = await runCli(['migrate', '--status', '--format', 'json', '--db', db]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; applied: boolean }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((m) => m.applied)).toBe(true);
  });

  it('takes the database from KEYTRAIL_DB', async () => {
    const db = join(tmp.dir, 'env.db');
    const r = await runCli(['migrate', '--status', '--format', 'json'], { env: { KEYTRAIL_DB: db } });
    expect(r.code).toBe(0);
    expect(readFileSync(db).length).toBeGreaterThan(0);
  });

  it('init writes a commented keytrail.yaml that parses and carries every top-level key', async () => {
    const r = await runCli(['init'], { cwd: tmp.dir });
    expect(r.code).toBe(0);
    const text = readFileSync(join(tmp.dir, 'keytrail.yaml'), 'utf8');
    expect(text).toMatch(/^# keytrail configuration/);
    const parsed = parse(text) as Record<string, unknown>;
    for (const key of ['vault', 'gitlab', 'roles', 'correlation', 'leases', 'detections', 'alerts', 'report', 'signing']) {
      expect(parsed).toHaveProperty(key);
    }
    const again = await runCli(['init'], { cwd: tmp.dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
  });
});
