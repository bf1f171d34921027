import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { batchOfLines } from './helpers/batches.js';
import { sealBatch, type PreparedBatch } from '../ingest/batch.js';
import { IngestStore } from '../ingest/store.js';
import { decompressBatchBytes, openDatabase } from '../db/index.js';
import { auditLines } from '../bench/gen-audit.js';

const tmp = tempDir('keytrail-sealed-');
afterAll(() => tmp.cleanup());

/** Commits the batch into a new database; returns what the batch row holds. */
async function commit(name: string, batch: PreparedBatch) {
  const handle = await openDatabase(join(tmp.dir, `${name}.db`));
  try {
    new IngestStore(handle).commit({ device: 'audit', source: 'file', fileFingerprint: 'f', filePath: '/x' }, batch, null);
    const row = handle.sqlite.prepare('SELECT sha256, stored_sha256, chain_sha256, raw_bytes, raw_codec FROM ingest_batches').get() as {
      sha256: string; stored_sha256: string; chain_sha256: string; raw_bytes: Buffer; raw_codec: string;
    };
    const entries = handle.sqlite.prepare('SELECT * FROM audit_entries ORDER BY id').raw(true).all();
    return { ...row, raw: decompressBatchBytes(row.raw_bytes, row.raw_codec), entries };
  } finally {
    handle.sqlite.close();
  }
}

describe('ingest: a batch hashed and compressed by the parse worker (the writer is behind)', () => {
  it('stores the same hashes, bytes and rows as a batch the writer hashes and compresses', async () => {
    const lines = [...auditLines({ lines: 120, seed: 11 })];
    const byWriter = batchOfLines(lines);
    const byWorker = batchOfLines(lines);
    expect(byWorker.sha256).toBeNull(); // exact bytes: left for whoever has the time
    sealBatch(byWorker);
    const stored = Buffer.from(byWorker.stored);
    expect(byWorker.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(byWorker.compressed).toBeDefined();

    const a = await commit('writer', byWriter);
    const b = await commit('worker', byWorker);
    expect(b.sha256).toBe(a.sha256);
    expect(b.stored_sha256).toBe(a.stored_sha256);
    expect(b.chain_sha256).toBe(a.chain_sha256);
    expect(b.raw.equals(stored)).toBe(true);
    expect(b.entries).toEqual(a.entries);
  });

  it('keeps the hashes of redacted bytes (read bytes and stored bytes differ)', () => {
    const lines = [...auditLines({ lines: 20, seed: 12 })];
    const batch = batchOfLines(lines, { logRaw: true });
    const { sha256, storedSha256 } = batch;
    expect(sha256).not.toBeNull();
    sealBatch(batch);
    expect(batch.sha256).toBe(sha256);
    expect(batch.storedSha256).toBe(storedSha256);
  });
});
