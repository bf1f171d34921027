import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tempDir } from './helpers/cli.js';
import { readFileBatches, type ReadEvent } from '../ingest/reader.js';
import { recycleLineBuffer } from '../ingest/batch.js';
import { auditLines } from '../bench/gen-audit.js';

const tmp = tempDir('keytrail-hashes-');
afterAll(() => tmp.cleanup());

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const OVER_LIMIT = 16 * 1024 * 1024 + 1024;

interface Read {
  batches: { start: number; end: number; sha256: string; stored: Buffer; quarantined: string[] }[];
  end: Extract<ReadEvent, { kind: 'end' }>;
  lineBuffers: number;
}

/** Reads a file as the writer does (line buffers recycled after each batch); a batch's hash is the store's when it leaves it. */
async function read(path: string, opts: { gzip?: boolean; maxBytes?: number; logRaw?: boolean } = {}): Promise<Read> {
  const batches: Read['batches'] = [];
  const buffers = new Set<ArrayBufferLike>();
  let end: Read['end'] | undefined;
  const events = readFileBatches(path, { start: 0, gzip: opts.gzip ?? false, prefix: null, logRaw: opts.logRaw ?? false, keyPath: join(tmp.dir, 'key'), maxBytes: opts.maxBytes });
  for await (const ev of events) {
    if (ev.kind === 'end') {
      end = ev;
      continue;
    }
    const b = ev.batch;
    buffers.add(b.stored.buffer);
    const stored = Buffer.from(b.stored);
    batches.push({ start: b.startOffset, end: b.endOffset, sha256: b.sha256 ?? sha(stored), stored, quarantined: b.quarantined.map((q) => q.reason) });
    recycleLineBuffer(b.stored);
  }
  return { batches, end: end!, lineBuffers: buffers.size };
}

/** Every batch's hash of the bytes read is the hash of exactly its range of the (decompressed) file. */
function expectHashesOfRanges(r: Read, file: Buffer): void {
  for (const b of r.batches) expect(b.sha256).toBe(sha(file.subarray(b.start, b.end)));
}

describe('ingest: a batch\'s SHA-256 covers exactly its bytes, whatever lines it ends on', () => {
  for (const logRaw of [false, true]) {
    it(`leaves out the pieces of an over-long last line still being written, and hashes it whole once it ends${logRaw ? ' (log_raw device, hashed as read)' : ''}`, async () => {
      const lines = [...auditLines({ lines: 20, seed: 4, logRaw })].join('\n') + '\n';
      const path = join(tmp.dir, `growing-${logRaw}.log`);
      writeFileSync(path, lines);
      appendFileSync(path, Buffer.alloc(OVER_LIMIT, 0x61)); // no newline yet

      const first = await read(path, { logRaw });
      expect(first.batches).toHaveLength(1);
      expect(first.batches[0]!.end).toBe(Buffer.byteLength(lines));
      expectHashesOfRanges(first, Buffer.concat([Buffer.from(lines), Buffer.alloc(OVER_LIMIT, 0x61)]));
      expect(first.end.offset).toBe(Buffer.byteLength(lines));

      // The line ends: read again from the start, it is quarantined as oversized, its bytes hashed in its batch.
      appendFileSync(path, '\n');
      const file = Buffer.concat([Buffer.from(lines), Buffer.alloc(OVER_LIMIT, 0x61), Buffer.from('\n')]);
      const second = await read(path, { logRaw });
      expect(second.batches.flatMap((b) => b.quarantined)).toEqual(['oversized']);
      expectHashesOfRanges(second, file);
      expect(second.end.offset).toBe(file.length);
    });
  }

  it('hashes an over-long line in the middle of a file with the batch that holds it', async () => {
    const head = [...auditLines({ lines: 200, seed: 5 })].join('\n') + '\n';
    const tail = [...auditLines({ lines: 50, seed: 6 })].join('\n') + '\n';
    const file = Buffer.concat([Buffer.from(head), Buffer.alloc(OVER_LIMIT, 0x62), Buffer.from('\n'), Buffer.from(tail)]);
    const path = join(tmp.dir, 'middle.log');
    writeFileSync(path, file);
    const r = await read(path, { maxBytes: 64 * 1024 });
    expect(r.batches.length).toBeGreaterThanOrEqual(2);
    expectHashesOfRanges(r, file);
    expect(r.batches.flatMap((b) => b.quarantined)).toEqual(['oversized']);
    expect(r.batches.at(-1)!.end).toBe(file.length);
  });

  it('counts no newline for an over-long line that never ended in a gzipped rotation', async () => {
    const lines = [...auditLines({ lines: 10, seed: 7 })].join('\n') + '\n';
    const file = Buffer.concat([Buffer.from(lines), Buffer.alloc(OVER_LIMIT, 0x63)]);
    const path = join(tmp.dir, 'rotated.log.1.gz');
    writeFileSync(path, gzipSync(file));
    const r = await read(path, { gzip: true });
    expect(r.batches.flatMap((b) => b.quarantined)).toEqual(['oversized']);
    expect(r.batches.at(-1)!.end).toBe(file.length);
    expect(r.end.offset).toBe(file.length);
    expectHashesOfRanges(r, file);
  });

  it('recycles a log_raw device\'s batches into line buffers that later batches can use', async () => {
    const lines = [...auditLines({ lines: 12000, seed: 8, logRaw: true })];
    const path = join(tmp.dir, 'raw.log');
    writeFileSync(path, lines.join('\n') + '\n');
    const r = await read(path, { logRaw: true, maxBytes: 256 * 1024 });
    expect(r.batches.length).toBeGreaterThan(8); // a batch per 1 MiB read
    // The redacted bytes are built in pooled line buffers: a handful, not one per batch.
    expect(r.lineBuffers).toBeLessThanOrEqual(3);
  });
});
