/**
 * The request keys (db/request-key.ts) this connection knows to be stored, as a Bloom filter, so that the ingest
 * skips its dedupe probe for a key that was never stored: most lines. A probe is a statement run (a native call,
 * three bound values) and a descent of the request-key index, ~1 µs of the writer's ~17 µs a line. A filter has
 * no false negatives: "maybe" still probes, so a false positive costs only the probe it would have cost anyway.
 *
 * It is only as good as what it saw: built from the stored keys, it must be thrown away once anyone else writes
 * lines (IngestStore checks `PRAGMA data_version` and the highest line id).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { mix32 } from '../db/request-key.js';

/**
 * A blocked Bloom filter: a key sets two bits of one 32-bit word, so a lookup (and the add after it) reads one
 * cache line of the 4 MiB table. About 1% false positives at 1M keys, 2% at 2M, 22% at 10M.
 */
const WORDS_LOG2 = 20;
/**
 * Databases whose highest line id (db/line-ids.ts) is above this ingest without a filter: reading every stored
 * key first would cost more than it saves a small ingest (~0.2 s a million keys), and the filter would mostly
 * answer "maybe".
 */
export const MAX_KEYS_TO_LOAD = 2_000_000;

/** The two bits a key sets in its word, from the hash's low 10 bits (the word comes from its high bits). */
function bitsOf(h: number): number {
  return (1 << (h & 31)) | (1 << ((h >>> 5) & 31));
}

export class KnownKeys {
  private readonly words = new Uint32Array(1 << WORDS_LOG2);

  add(key: number): void {
    const h = this.hash(key);
    this.words[h >>> (32 - WORDS_LOG2)]! |= bitsOf(h);
  }

  /** False when the key was never added; true when it may have been. */
  mayHave(key: number): boolean {
    const h = this.hash(key);
    const bits = bitsOf(h);
    return (this.words[h >>> (32 - WORDS_LOG2)]! & bits) === bits;
  }

  /** The stored keys, or null when there are too many to be worth it. */
  static load(sqlite: BetterSqlite3.Database, lastLineId: number): KnownKeys | null {
    if (lastLineId > MAX_KEYS_TO_LOAD) return null;
    const known = new KnownKeys();
    // An index-only scan of the request-key index.
    for (const key of sqlite.prepare('SELECT request_key FROM audit_entries WHERE request_key IS NOT NULL').pluck().iterate()) {
      known.add(key as number);
    }
    return known;
  }

  /** Keys are up to 47 bits: both halves mixed into 32 (a request and its response differ in the lowest bit). */
  private hash(key: number): number {
    const high = Math.floor(key / 4294967296);
    return mix32((key >>> 0) ^ mix32(high + 0x9e3779b9));
  }
}
