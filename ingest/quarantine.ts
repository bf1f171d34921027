/** `query quarantine`: the lines that were not stored, with their reason, device, file and byte offset. */
import type { KeytrailDb } from '../db/index.js';

export interface QuarantineRow {
  id: number;
  device: string;
  source: string;
  file: string | null;
  offset: number;
  length: number;
  reason: string;
  detail: string | null;
  excerpt: string | null;
  created_at: string;
}

export async function listQuarantine(handle: KeytrailDb, filter: { device?: string; limit?: number } = {}): Promise<QuarantineRow[]> {
  let q = handle.db
    .selectFrom('quarantine')
    .select(['id', 'device', 'source', 'file_path', 'byte_offset', 'byte_length', 'reason', 'detail', 'excerpt', 'created_at'])
    .orderBy('id');
  if (filter.device) q = q.where('device', '=', filter.device);
  if (filter.limit !== undefined) q = q.limit(filter.limit);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    device: r.device,
    source: r.source,
    file: r.file_path,
    offset: Number(r.byte_offset),
    length: Number(r.byte_length),
    reason: r.reason,
    detail: r.detail,
    excerpt: r.excerpt,
    created_at: r.created_at,
  }));
}
