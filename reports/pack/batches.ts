import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { decompressBatchBytes } from '../../db/batch-bytes.js';

/** The state of one device's batch hash chain, recomputed from what is stored. */
export interface ChainState {
  device: string;
  batches: number;
  /** chain_sha256 of the device's latest batch (the head the manifest records). */
  head: string | null;
  /** 'intact' when every link and every stored batch hash recomputes; 'broken' otherwise. */
  status: 'intact' | 'broken';
  /** Batches whose stored bytes were re-hashed (those that overlap the period and are not pruned). */
  rehashed: number;
  /** Batches of the period whose bytes were pruned (their hashes are still chained). */
  pruned: number;
  /** Each problem found, as a sentence naming the batch. */
  problems: string[];
}

/** The per-device chain link: sha256 over the previous link (empty for the first batch) and the stored hash. */
export function chainLink(prev: string | null, storedSha256: string): string {
  return createHash('sha256')
    .update(prev ?? '')
    .update(storedSha256)
    .digest('hex');
}

interface BatchRow {
  id: number;
  device: string;
  stored_sha256: string;
  prev_chain_sha256: string | null;
  chain_sha256: string;
  raw_bytes: Buffer | null;
  raw_codec: string;
  in_period: number;
}

/**
 * Walks every device's batches in id order and recomputes the chain: each batch must point at the previous
 * batch's link, its link must recompute, and the stored bytes of batches overlapping the period must hash to
 * stored_sha256. The compressed bytes of a batch are read only for those, one batch at a time.
 */
export function recomputeChains(sqlite: Database.Database, fromKey: string, toKey: string): ChainState[] {
  const states = new Map<string, ChainState & { last: string | null }>();
  const stmt = sqlite.prepare(`SELECT id, device, stored_sha256, prev_chain_sha256, chain_sha256,
      CASE WHEN in_period = 1 THEN raw_bytes END AS raw_bytes, raw_codec, in_period
    FROM (SELECT *, (coalesce(first_time_key, '') <= ? AND coalesce(last_time_key, '~') >= ?) AS in_period FROM ingest_batches)
    ORDER BY device, id`);
  for (const row of stmt.iterate(toKey, fromKey) as IterableIterator<BatchRow>) {
    let s = states.get(row.device);
    if (!s) {
      s = { device: row.device, batches: 0, head: null, status: 'intact', rehashed: 0, pruned: 0, problems: [], last: null };
      states.set(row.device, s);
    }
    s.batches++;
    if ((row.prev_chain_sha256 ?? null) !== s.last) {
      s.problems.push(`batch ${row.id} does not point at the previous link of ${row.device}`);
    }
    if (chainLink(row.prev_chain_sha256, row.stored_sha256) !== row.chain_sha256) {
      s.problems.push(`batch ${row.id}: chain_sha256 does not recompute`);
    }
    if (row.in_period) {
      if (row.raw_bytes) {
        const bytes = decompressBatchBytes(row.raw_bytes, row.raw_codec);
        if (createHash('sha256').update(bytes).digest('hex') !== row.stored_sha256) {
          s.problems.push(`batch ${row.id}: stored bytes do not hash to stored_sha256`);
        }
        s.rehashed++;
      } else {
        s.pruned++;
      }
    }
    s.last = row.chain_sha256;
    s.head = row.chain_sha256;
  }
  return [...states.values()].map(({ last: _last, ...s }) => ({ ...s, status: s.problems.length ? 'broken' : 'intact' }));
}

/** The raw audit line of one stored copy, as its batch kept it, and its SHA-256. */
export interface RawLine {
  copyId: number;
  device: string;
  batchId: number;
  sha256: string | null;
  /** Why no hash: the batch was pruned or the offsets fall outside it. */
  missing?: string;
}

export function rawLineOfCopy(sqlite: Database.Database, copyId: number): RawLine | null {
  const copy = sqlite
    .prepare('SELECT c.id, c.device, c.batch_id, c.line_offset, c.line_length, b.raw_bytes, b.raw_codec FROM audit_copies c JOIN ingest_batches b ON b.id = c.batch_id WHERE c.id = ?')
    .get(copyId) as
    | { id: number; device: string; batch_id: number; line_offset: number; line_length: number; raw_bytes: Buffer | null; raw_codec: string }
    | undefined;
  if (!copy) return null;
  const base = { copyId: copy.id, device: copy.device, batchId: copy.batch_id };
  if (!copy.raw_bytes) return { ...base, sha256: null, missing: 'batch bytes pruned' };
  const bytes = decompressBatchBytes(copy.raw_bytes, copy.raw_codec);
  if (copy.line_offset + copy.line_length > bytes.length) return { ...base, sha256: null, missing: 'offsets outside the batch' };
  const line = bytes.subarray(copy.line_offset, copy.line_offset + copy.line_length);
  return { ...base, sha256: createHash('sha256').update(line).digest('hex') };
}
