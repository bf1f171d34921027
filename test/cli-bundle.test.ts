import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { writeAuditFile } from '../bench/gen-audit.js';

const CLI_DIR = resolve(import.meta.dirname, '../dist/cli');

describe('the built CLI (bundled by esbuild.config.mjs)', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('carries Kysely in its bundle instead of loading its modules one by one at start', () => {
    const main = readFileSync(join(CLI_DIR, 'main.js'), 'utf8');
    // The entry itself is the bundle (tsc's main.js only imports ./program.js), and its chunks are the ones it
    // imports (not whatever an earlier build left).
    expect(main).not.toMatch(/from ['"]\.\/program\.js['"]/);
    const chunks = [...main.matchAll(/from ['"]\.\/(bundle-[^'"]+\.js)['"]/g)].map((m) => m[1]!);
    expect(chunks.length).toBeGreaterThan(0);
    const code = [main, ...chunks.map((f) => readFileSync(join(CLI_DIR, f), 'utf8'))];
    // esbuild marks where each bundled module starts with its path.
    expect(code.some((c) => c.includes('node_modules/kysely/dist/esm/kysely.js'))).toBe(true);
    expect(code.filter((c) => /^import [^;]*from ['"]kysely['"]/m.test(c))).toEqual([]);
  });

  it('finds the parse worker and the background checkpointer from the bundle for a large file', async () => {
    const file = join(tmp.dir, 'audit.log');
    // Over the 4 MiB from which a file is read in the worker thread.
    await writeAuditFile(file, { lines: 4000, seed: 5 });
    const res = await runCli(['--db', join(tmp.dir, 'k.db'), '--verbose', 'ingest', 'vault', file, '--format', 'json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ lines: 4000, stored: 4000, quarantined: 0 });
    const logged = res.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; parse_worker?: boolean; background_checkpoints?: boolean; background_checkpoints_done?: number });
    expect(logged.find((l) => l.msg === 'reading audit file')).toMatchObject({ parse_worker: true, background_checkpoints: true });
    // The checkpointer's thread ran (its first checkpoint runs as soon as it starts).
    expect(logged.find((l) => l.msg === 'read audit file')?.background_checkpoints_done).toBeGreaterThan(0);
  });
});
