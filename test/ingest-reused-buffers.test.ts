import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { readFileBatches, type ReadEvent } from '../ingest/reader.js';
import { ENTRY_WIDTH, HMAC_WIDTH, PackedRowsWriter, recycleRows, rowsOf } from '../ingest/packed-rows.js';
import { auditLines } from '../bench/gen-audit.js';
import { BatchBuilder, recycleLineBuffer } from '../ingest/batch.js';
import { Redactor } from '../ingest/redact.js';

const tmp = tempDir('keytrail-buffers-');
afterAll(() => tmp.cleanup());

/**
 * The batches of a file, read as the writer reads them: each batch's line buffer is recycled once it is
 * "committed" (here: its bytes copied), so later batches are built in it.
 */
async function collect(path: string, maxBytes: number): Promise<{ batches: Extract<ReadEvent, { kind: 'batch' }>['batch'][]; lineBuffers: number }> {
  const batches = [];
  const buffers = new Set<ArrayBufferLike>();
  for await (const ev of readFileBatches(path, { start: 0, gzip: false, prefix: null, logRaw: false, keyPath: join(tmp.dir, 'key'), maxBytes })) {
    if (ev.kind !== 'batch') continue;
    buffers.add(ev.batch.stored.buffer);
    batches.push({ ...ev.batch, stored: Buffer.from(ev.batch.stored) });
    recycleLineBuffer(ev.batch.stored);
  }
  return { batches, lineBuffers: buffers.size };
}

describe('ingest: the reader reuses its read buffer, and batches the line buffers of committed batches', () => {
  it('keeps every batch\'s bytes exact when lines straddle the 1 MiB reads and batches share one line buffer', async () => {
    // About 3.5 MiB of lines of varying length: lines straddle the 1 MiB reads, and a batch ends after each
    // read (small batches), built in the line buffer the batch before used.
    const lines = [...auditLines({ lines: 2600, seed: 11 })];
    const file = Buffer.from(lines.join('\n') + '\n');
    const path = join(tmp.dir, 'audit.log');
    writeFileSync(path, file);

    const { batches, lineBuffers } = await collect(path, 64 * 1024);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    // Built in recycled line buffers: the one being filled and the one just handed to the writer.
    expect(lineBuffers).toBeLessThanOrEqual(2);
    let offset = 0;
    let rows = 0;
    for (const b of batches) {
      expect(b.startOffset).toBe(offset);
      const expected = file.subarray(b.startOffset, b.endOffset);
      // The kept bytes and both hashes are those of the file's range, not of a later read or batch.
      expect(Buffer.from(b.stored).equals(expected)).toBe(true);
      // Exact bytes: the store hashes them (test/ingest-vault-files.test.ts checks the stored hashes).
      expect(b.sha256).toBeNull();
      expect(b.quarantined).toEqual([]);
      for (const row of rowsOf(b.rows)) {
        expect(row.entry[0]).toBe(JSON.parse(lines[rows]!).request?.id ?? null);
        rows++;
      }
      offset = b.endOffset;
    }
    expect(offset).toBe(file.length);
    expect(rows).toBe(lines.length);
  });
});

describe('ingest: row arrays handed back by the writer are reused for a later batch', () => {
  it('reuses the arrays and holds only the new batch\'s values in them', () => {
    const first = new PackedRowsWriter(4);
    const entry = (id: string) => [id, 'request', 't', 't', ...new Array<null>(ENTRY_WIDTH - 4).fill(null)];
    const hmacs = () => new Array<string | null>(HMAC_WIDTH).fill('hmac-sha256:aa');
    first.add(entry('first-1'), hmacs());
    first.add(entry('first-2'), hmacs());
    const done = first.finish();
    recycleRows(done);

    const second = new PackedRowsWriter(4);
    second.add(entry('second-1'), hmacs());
    second.setLine(0, 10, 20);
    const rows = second.finish();
    expect(rows.kinds).toBe(done.kinds);
    expect(rows.cells).toBe(done.cells);
    expect(rows.text.buffer).toBe(done.text.buffer);
    expect(rows.ends).toBe(done.ends);
    expect(rowsOf(rows).map((r) => [r.entry[0], r.lineOffset, r.lineLength])).toEqual([['second-1', 10, 20]]);
  });

  it('reuses arrays that grew past their first capacity (a batch runs past its line limit to the end of a read)', () => {
    const entry = (id: string) => [id, 'request', 't', 't', ...new Array<null>(ENTRY_WIDTH - 4).fill(null)];
    const hmacs = () => new Array<string | null>(HMAC_WIDTH).fill(null);
    const grown = new PackedRowsWriter(2);
    for (let i = 0; i < 3; i++) grown.add(entry(`grown-${i}`), hmacs());
    const done = grown.finish();
    expect(done.kinds.length).toBeGreaterThan(2 * (ENTRY_WIDTH + HMAC_WIDTH + 2));
    recycleRows(done);

    const next = new PackedRowsWriter(2);
    next.add(entry('next-1'), hmacs());
    const rows = next.finish();
    expect(rows.kinds).toBe(done.kinds);
    expect(rowsOf(rows).map((r) => r.entry[0])).toEqual(['next-1']);
  });
});

describe('ingest: who hashes a batch\'s bytes', () => {
  const redactor = () => {
    throw new Error('not a log_raw device');
  };
  const line = (n: number) => Buffer.from(`{"time":"2026-03-02T08:00:0${n}Z","type":"request","request":{"id":"r-${n}"}}`);

  it('leaves exact bytes unhashed for the store, and hashes an over-long line\'s pieces as they pass', () => {
    const exact = new BatchBuilder({ prefix: null, logRaw: false, redactor }, 0);
    exact.addLine(line(1), 0);
    exact.addLine(line(2), line(1).length + 1);
    const plain = exact.finish();
    expect(plain.sha256).toBeNull();
    expect(plain.storedSha256).toBeNull();
    expect(Buffer.from(plain.stored).toString()).toBe(`${line(1)}\n${line(2)}\n`);

    // An over-long line is never stored: the batch's hash of the bytes read must include its pieces.
    const withOversized = new BatchBuilder({ prefix: null, logRaw: false, redactor }, 0);
    withOversized.addLine(line(1), 0);
    const piece = Buffer.alloc(100, 0x61);
    withOversized.addOversizedPiece(piece);
    withOversized.addOversized(line(1).length + 1, piece.length);
    const b = withOversized.finish();
    const read = Buffer.concat([line(1), Buffer.from('\n'), piece, Buffer.from('\n')]);
    expect(b.sha256).toBe(createHash('sha256').update(read).digest('hex'));
    expect(b.storedSha256).toBe(createHash('sha256').update(b.stored).digest('hex'));
    expect(b.storedSha256).not.toBe(b.sha256);
  });
});

describe('ingest: a line is parsed within its own bytes', () => {
  it('quarantines a line without JSON even when the reused line buffer holds an earlier batch\'s JSON after it', () => {
    const opts = { prefix: null, logRaw: false, redactor: () => new Redactor(Buffer.alloc(32, 7)) };
    const [first] = [...auditLines({ lines: 1, seed: 21 })];
    const earlier = new BatchBuilder(opts, 0);
    earlier.addLine(Buffer.from(`${first}`), 0);
    recycleLineBuffer(earlier.finish().stored);

    // Built in the recycled buffer: the garbage line's bytes end where the old JSON line still lies.
    const later = new BatchBuilder(opts, 0);
    later.addLine(Buffer.from('garbage'), 0);
    const batch = later.finish();
    expect(batch.rows.count).toBe(0);
    expect(batch.quarantined).toEqual([expect.objectContaining({ reason: 'invalid-json', detail: 'no JSON object on the line', excerpt: 'garbage' })]);
  });
});
