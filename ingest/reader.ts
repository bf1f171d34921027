/**
 * Reads one audit file from a byte offset and yields prepared batches (pure computation, no database), so it
 * can run in the parse worker or inline. Only complete lines are consumed; an unfinished last line waits,
 * except at the end of a gzipped rotation, which can never grow: there it is quarantined as `torn`.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { BatchBuilder, type PreparedBatch } from './batch.js';
import { LineSplitter } from './lines.js';
import { loadOrCreateKey, Redactor } from './redact.js';

export interface ReadOptions {
  start: number;
  gzip: boolean;
  prefix: string | null;
  logRaw: boolean;
  keyPath: string;
  maxLines?: number;
  maxBytes?: number;
}

export type ReadEvent =
  | { kind: 'batch'; batch: PreparedBatch; deviceLogRaw: boolean }
  | { kind: 'end'; offset: number; unfinished: number; complete: boolean };

export function lazyRedactor(keyPath: string): () => Redactor {
  let r: Redactor | undefined;
  return () => (r ??= new Redactor(loadOrCreateKey(keyPath)));
}

export async function* readFileBatches(path: string, opts: ReadOptions): AsyncGenerator<ReadEvent> {
  const redactor = lazyRedactor(opts.keyPath);
  let logRaw = opts.logRaw;
  const newBuilder = (start: number) =>
    new BatchBuilder({ prefix: opts.prefix, logRaw, redactor, maxLines: opts.maxLines, maxBytes: opts.maxBytes }, start);
  let builder = newBuilder(opts.start);
  const splitter = new LineSplitter(
    {
      line: (source, start, end, offset) => builder.addLineFrom(source, start, end, offset),
      oversizedPiece: (piece) => builder.addOversizedPiece(piece),
      oversized: (offset, length, sha256) => builder.addOversized(offset, length, true, sha256),
    },
    opts.start,
  );
  const flush = (): PreparedBatch => {
    const batch = builder.finish();
    logRaw = builder.deviceLogRaw;
    builder = newBuilder(splitter.lineStart);
    return batch;
  };

  let source: AsyncIterable<Buffer>;
  let toSkip = 0;
  if (opts.gzip) {
    source = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 1 << 20 }));
    toSkip = opts.start;
  } else {
    source = readChunks(path, opts.start);
  }
  for await (let chunk of source) {
    if (toSkip > 0) {
      if (chunk.length <= toSkip) {
        toSkip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(toSkip);
      toSkip = 0;
    }
    splitter.push(chunk);
    // An over-long line stays in the batch that hashed its first pieces (they are not kept to hash again).
    if (builder.full && !splitter.inOversizedLine) yield { kind: 'batch', batch: flush(), deviceLogRaw: logRaw };
  }
  if (opts.gzip) {
    const tail = splitter.unfinished();
    if (tail) builder.addTorn(tail, splitter.lineStart);
    else if (splitter.unfinishedLength > 0) builder.addOversized(splitter.lineStart, splitter.unfinishedLength, false, splitter.unfinishedOversizedSha256());
    splitter.dropUnfinished();
  }
  if (builder.lineCount > 0) yield { kind: 'batch', batch: flush(), deviceLogRaw: logRaw };
  yield { kind: 'end', offset: splitter.lineStart, unfinished: splitter.unfinishedLength, complete: opts.gzip };
}

/**
 * A plain file from `start` in chunks of two reused buffers: each chunk is only valid until the next is asked
 * for (the line splitter copies what it keeps). The next chunk is read into the other buffer while this one is
 * parsed, so the parser does not wait for each read. A stream's fresh 1 MiB buffer per read piled up in the
 * allocator until V8 collected its old generation.
 */
async function* readChunks(path: string, start: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  const buffers = [Buffer.allocUnsafeSlow(1 << 20), Buffer.allocUnsafeSlow(1 << 20)];
  let next: Promise<{ bytesRead: number }> | null = null;
  try {
    let position = start;
    let current = 0;
    next = file.read(buffers[current]!, 0, buffers[current]!.length, position);
    next.catch(() => undefined); // handled where it is awaited; not an unhandled rejection meanwhile
    for (;;) {
      const { bytesRead } = await next;
      next = null;
      if (bytesRead === 0) return;
      position += bytesRead;
      const chunk = buffers[current]!.subarray(0, bytesRead);
      current ^= 1;
      next = file.read(buffers[current]!, 0, buffers[current]!.length, position);
      next.catch(() => undefined);
      yield chunk;
    }
  } finally {
    // A read still under way (the consumer stopped early) settles before the file closes.
    await next?.catch(() => undefined);
    await file.close();
  }
}
