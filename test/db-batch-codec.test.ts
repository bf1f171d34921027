import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Migrator } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { compressBatchBytes, decompressBatchBytes, openDatabase } from '../db/index.js';
import { migrations } from '../migrations/index.js';
import { readBatchBytes } from '../ingest/raw-line.js';
import { tempDir } from './helpers/cli.js';

describe('db: the codec of a batch\'s kept bytes', () => {
  const tmp = tempDir('keytrail-codec-');
  afterAll(() => tmp.cleanup());

  it('a database written before the Brotli codec keeps its gzip batches readable after the migration', async () => {
    const path = join(tmp.dir, 'old.db');
    const bytes = Buffer.from('{"type":"request","time":"2026-03-02T08:00:00Z"}\n');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const old = await openDatabase(path, { migrate: false });
    const result = await new Migrator({ db: old.db, provider: { getMigrations: async () => migrations } }).migrateTo('0004_findings');
    expect(result.error).toBeUndefined();
    old.sqlite
      .prepare(`INSERT INTO ingest_batches (device, source, start_offset, end_offset, line_count, stored_count, duplicate_count, quarantined_count, sha256, stored_sha256, chain_sha256, raw_gzip, created_at)
        VALUES ('a', 'file', 0, ?, 1, 1, 0, 0, ?, ?, ?, ?, '2026-03-02T08:00:01Z')`)
      .run(bytes.length, sha, sha, sha, gzipSync(bytes));
    await old.close();

    const handle = await openDatabase(path);
    try {
      const row = handle.sqlite.prepare('SELECT raw_codec FROM ingest_batches').get() as { raw_codec: string };
      expect(row.raw_codec).toBe('gzip');
      expect(await readBatchBytes(handle, 1)).toEqual(bytes);
    } finally {
      await handle.close();
    }
  });

  it('new batches are Brotli and decompress to the same bytes; an unknown codec is a clear error', () => {
    const bytes = Buffer.from('x'.repeat(5000) + '\n');
    const packed = compressBatchBytes(bytes);
    expect(packed.codec).toBe('br');
    expect(packed.bytes.length).toBeLessThan(100);
    expect(decompressBatchBytes(packed.bytes, packed.codec)).toEqual(bytes);
    expect(() => decompressBatchBytes(packed.bytes, 'zstd')).toThrow(/unknown codec "zstd"/);
  });
});
