/**
 * Runs readFileBatches in the parse worker and hands its batches over as an async iterator; each consumed
 * batch is acknowledged so the worker never runs more than a few batches ahead of the writer (parse-worker.ts).
 * Falls back to parsing inline when the compiled worker is not available (tests running from TypeScript sources).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readFileBatches, type ReadEvent, type ReadOptions } from './reader.js';
import { batchTransferList, recycleBatch } from './batch.js';

// From dist/ingest, and from the bundled CLI in dist/cli (esbuild.config.mjs).
const WORKER_URL = new URL('../ingest/parse-worker.js', import.meta.url);

export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

export async function* batchesFor(path: string, opts: ReadOptions, useWorker: boolean): AsyncGenerator<ReadEvent> {
  if (!useWorker || !workerAvailable()) {
    for await (const event of readFileBatches(path, opts)) {
      yield event;
      // Committed: its buffers serve a later batch.
      if (event.kind === 'batch') recycleBatch(event.batch);
    }
    return;
  }
  // The young generation bounds how much of the parser's short-lived garbage is resident (RSS) and how often it
  // is collected. At 8 MB the worker spent ~19% of its time in GC; 12 MB made a 1M-line ingest ~8% faster at the
  // same peak RSS (269 MB; 277 MB at 2M lines); 16 MB and more cost 10-30 MB more RSS, up to the 300 MB budget.
  // The old generation stays large enough for a 16 MiB line.
  const worker = new Worker(WORKER_URL, { workerData: { path, opts }, resourceLimits: { maxYoungGenerationSizeMb: 12, maxOldGenerationSizeMb: 256 } });
  const queue: (ReadEvent | { kind: 'error'; message: string })[] = [];
  let notify: (() => void) | null = null;
  let exited = false;
  const push = () => {
    notify?.();
    notify = null;
  };
  worker.on('message', (m: ReadEvent | { kind: 'error'; message: string }) => {
    queue.push(m);
    push();
  });
  worker.on('error', (err) => {
    queue.push({ kind: 'error', message: err.message });
    push();
  });
  worker.on('exit', () => {
    exited = true;
    push();
  });
  try {
    while (true) {
      if (queue.length === 0) {
        if (exited) throw new Error(`parse worker for ${path} stopped unexpectedly`);
        await new Promise<void>((r) => (notify = r));
        continue;
      }
      const event = queue.shift()!;
      if (event.kind === 'error') throw new Error(`reading ${path}: ${event.message}`);
      if (event.kind === 'end') {
        yield event;
        return;
      }
      yield event;
      // The writer is done with the batch (it asks for the next one only after writing it): its row arrays and
      // line buffer go back to the worker for a later batch (they are detached here).
      const { rows: { kinds, cells, text, ends }, stored } = event.batch;
      worker.postMessage({ type: 'ack', rows: { kinds, cells, text, ends }, stored }, batchTransferList(event.batch));
    }
  } finally {
    await worker.terminate();
  }
}
