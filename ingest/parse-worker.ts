/**
 * Parse worker: reads, splits, parses, normalises and redacts one file's batches while the main thread writes
 * the previous ones, and hashes and compresses them too when the writer is behind. At most six batches wait for
 * the writer (flat memory). A batch's rows are packed (packed-rows.ts) and their typed arrays transferred:
 * cloning every value cost the writer as much as inserting it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readFileBatches, type ReadOptions } from './reader.js';
import type { RowArrays } from './packed-rows.js';
import { batchTransferList, recycleBatch, sealBatch } from './batch.js';

/**
 * Enough batches (about 0.4 s of parsing) to keep the worker busy while the writer commits a group, which can
 * take up to a second when the WAL reaches its checkpoint backstop: with two, the worker sat idle for ~3.2 s of a
 * 1M-line ingest, with six ~1.8 s (each batch in flight holds ~2 MB).
 */
const MAX_IN_FLIGHT = 6;
/**
 * Batches usually cross uncompressed: with lines of many MiB a batch is as large as its line, so the bytes in
 * flight are bounded too (the peak RSS budget is 300 MB).
 */
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/**
 * With this many batches already waiting, the writer is the slower thread: the worker hashes and compresses the
 * next batch itself (sealBatch) instead of waiting idle for an ack. Below it, the writer has the time. In a
 * 500k-line ingest the worker sealed about half the batches, and its time waiting for acks fell from 1.2 to 0.4 s.
 */
const SEAL_IN_FLIGHT = 3;

async function main(): Promise<void> {
  const port = parentPort!;
  const { path, opts } = workerData as { path: string; opts: ReadOptions };
  let inFlight = 0;
  /** Line-buffer bytes of the batches in flight: each ack brings its buffer back. */
  let inFlightBytes = 0;
  let wake: (() => void) | null = null;
  port.on('message', (msg: { type: string; rows?: RowArrays; stored?: Uint8Array }) => {
    if (msg.type === 'ack') {
      if (msg.rows && msg.stored) {
        inFlightBytes -= msg.stored.buffer.byteLength;
        recycleBatch({ rows: msg.rows, stored: msg.stored });
      }
      inFlight--;
      wake?.();
      wake = null;
    }
  });
  try {
    for await (const event of readFileBatches(path, opts)) {
      while (inFlight >= MAX_IN_FLIGHT || (inFlight > 0 && inFlightBytes >= MAX_IN_FLIGHT_BYTES)) await new Promise<void>((r) => (wake = r));
      if (event.kind === 'batch') {
        if (inFlight >= SEAL_IN_FLIGHT) sealBatch(event.batch);
        inFlight++;
        // The memory held is the whole line buffer the stored bytes are a view of.
        inFlightBytes += event.batch.stored.buffer.byteLength;
        port.postMessage(event, batchTransferList(event.batch));
      } else {
        port.postMessage(event);
      }
    }
  } catch (err) {
    port.postMessage({ kind: 'error', message: (err as Error).message });
  }
  port.close();
}

void main();
