/**
 * Parse worker: reads, splits, parses, normalises, redacts, hashes and compresses one file's batches while
 * the main thread writes the previous ones. At most two batches wait for the writer (flat memory). Batches
 * travel packed (batch-transfer.ts): cloning every value costs the writer as much as inserting it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readFileBatches, type ReadOptions } from './reader.js';
import { packBatch } from './batch-transfer.js';

const MAX_IN_FLIGHT = 2;

async function main(): Promise<void> {
  const port = parentPort!;
  const { path, opts } = workerData as { path: string; opts: ReadOptions };
  let inFlight = 0;
  let wake: (() => void) | null = null;
  port.on('message', (msg: { type: string }) => {
    if (msg.type === 'ack') {
      inFlight--;
      wake?.();
      wake = null;
    }
  });
  try {
    for await (const event of readFileBatches(path, opts)) {
      while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => (wake = r));
      if (event.kind === 'batch') {
        inFlight++;
        const { batch, transfer } = packBatch(event.batch);
        port.postMessage({ ...event, batch }, transfer);
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
