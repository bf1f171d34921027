/**
 * `--scale LINES` sizes the organisation by audit lines (about LINES, ±20%), and generation streams: the
 * heap does not grow with the number of lines written.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { simulate } from '../sim/index.js';
import { runCli, tempDir } from './helpers/cli.js';

const tmp = tempDir('keytrail-sim-scale-');
afterAll(() => tmp.cleanup());

describe('simulate --scale', () => {
  it.each([6_000, 30_000])('writes about %i audit lines', async (scale) => {
    const res = await simulate({ outDir: join(tmp.dir, `s${scale}`), seed: 2, days: 3, scale });
    expect(res.lines).toBeGreaterThan(scale * 0.8);
    expect(res.lines).toBeLessThan(scale * 1.2);
  }, 120_000);

  it('streams: 60k lines in one day fit in an 80 MB old-generation heap (the lines alone are ~90 MB; the CLI itself takes ~18 MB)', async () => {
    const out = join(tmp.dir, 'mem');
    const res = await runCli(['simulate', '--out', out, '--seed', '4', '--days', '1', '--scale', '60000', '--quiet'], {
      env: { NODE_OPTIONS: '--max-old-space-size=80' },
      timeoutMs: 170_000,
    });
    expect(res.stderr).not.toMatch(/heap out of memory/i);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout) as { lines: number };
    expect(summary.lines).toBeGreaterThan(48_000);
  }, 180_000);
});
