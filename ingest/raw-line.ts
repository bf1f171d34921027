/**
 * The raw line behind a stored copy, recovered from its batch's compressed bytes (for `explain` and the
 * evidence pack). For a log_raw device this is the redacted line that was stored.
 */
import { decompressBatchBytes, type KeytrailDb } from '../db/index.js';

const cache = new WeakMap<KeytrailDb, { batchId: number; bytes: Buffer }>();

async function batchBytes(handle: KeytrailDb, batchId: number): Promise<Buffer | null> {
  const hit = cache.get(handle);
  if (hit && hit.batchId === batchId) return hit.bytes;
  const row = await handle.db.selectFrom('ingest_batches').select(['raw_bytes', 'raw_codec']).where('id', '=', batchId).executeTakeFirst();
  if (!row?.raw_bytes) return null;
  const bytes = decompressBatchBytes(row.raw_bytes, row.raw_codec);
  cache.set(handle, { batchId, bytes });
  return bytes;
}

/** The stored line of one copy (audit_copies.id), or null when its batch was pruned. */
export async function readCopyRawLine(handle: KeytrailDb, copyId: number): Promise<string | null> {
  const copy = await handle.db
    .selectFrom('audit_copies')
    .select(['batch_id', 'line_offset', 'line_length'])
    .where('id', '=', copyId)
    .executeTakeFirst();
  if (!copy) return null;
  const bytes = await batchBytes(handle, copy.batch_id);
  if (!bytes) return null;
  const start = Number(copy.line_offset);
  return bytes.subarray(start, start + copy.line_length).toString('utf8');
}

/** The stored line of an entry as its first device logged it (audit_entries.id, which is also that copy's id). */
export async function readEntryRawLine(handle: KeytrailDb, entryId: number): Promise<string | null> {
  return readCopyRawLine(handle, entryId);
}

/** Decompresses a batch's stored bytes (to recompute its SHA-256). */
export async function readBatchBytes(handle: KeytrailDb, batchId: number): Promise<Buffer | null> {
  return batchBytes(handle, batchId);
}
