/**
 * `audit_entries.request_key` (migration 0007): a 47-bit integer derived from an entry's request id and type,
 * indexed instead of the (request_id, type) text pair. Request ids are random UUIDs, so every insert lands
 * anywhere in that index; an integer index is about a third the size of the text one and stays in the page
 * cache, and each group commit rewrites a third of the pages. The key only narrows a lookup: readers and
 * the ingest dedupe always compare `request_id` (and `type`) too, so two ids that hash alike cost one row
 * read, never a wrong answer.
 *
 * Stored in the database: the function must never change (test/db-request-key.test.ts pins its values).
 */

const TWO_POW_32 = 4294967296;
/** High bits taken from the second hash: 46 bits in all, so that the key (with its type bit) fits 47. */
const HIGH_MASK = 0x3fff;

/** 32-bit avalanche (MurmurHash3's finaliser): every input bit flips about half of the output bits. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seeds and multipliers of the two FNV-1a style 32-bit hashes over a request id's UTF-16 code units. */
const SEED_A = 0x811c9dc5;
const PRIME_A = 0x01000193;
const SEED_B = 0x9747b28c;
const PRIME_B = 0x5bd1e995;

/** Both hashes and the id's length, mixed into the key before its type bit. */
function combine(a: number, b: number, length: number): number {
  return (mix32(b) & HIGH_MASK) * TWO_POW_32 + mix32(a ^ length);
}

/** The type bit: even for a `request`, odd for a `response`. */
function withType(hash: number, type: string): number {
  return hash * 2 + (type === 'request' ? 0 : 1);
}

/** The key of a request id, before its type bit. */
function requestIdHash(requestId: string): number {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = 0; i < requestId.length; i++) {
    const c = requestId.charCodeAt(i);
    a = Math.imul(a ^ c, PRIME_A);
    b = Math.imul(b ^ c, PRIME_B);
  }
  return combine(a, b, requestId.length);
}

/**
 * requestIdHash of an ASCII request id given as its bytes, `b[start, end)` (an ASCII byte is its UTF-16 code
 * unit): the ingest line scanner reads ids from the line without making strings of them.
 */
function asciiRequestIdHash(bytes: Uint8Array, start: number, end: number): number {
  let a = SEED_A;
  let b = SEED_B;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    a = Math.imul(a ^ c, PRIME_A);
    b = Math.imul(b ^ c, PRIME_B);
  }
  return combine(a, b, end - start);
}

/** requestKey of an ASCII request id given as its bytes. */
export function asciiRequestKey(bytes: Uint8Array, start: number, end: number, type: string): number {
  return withType(asciiRequestIdHash(bytes, start, end), type);
}

/** The key of one entry: even for a `request`, odd for a `response`. */
export function requestKey(requestId: string, type: string): number {
  return withType(requestIdHash(requestId), type);
}

/** The keys under which the entries of one request id (request and response) are found. */
export function requestKeys(requestId: string): [number, number] {
  const even = requestIdHash(requestId) * 2;
  return [even, even + 1];
}
