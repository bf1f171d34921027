/**
 * Moves WAL checkpoints off the writing thread during a bulk ingest. A checkpoint copies every page committed
 * since the last one into the database file and fsyncs it; done by the writer (SQLite's autocheckpoint), that
 * stalls inserts for about as long as the inserts themselves took. A worker thread with its own connection
 * checkpoints passively a few times a second instead, while the writer's autocheckpoint is raised to a
 * backstop (the WAL never grows past it even if the checkpointer cannot keep up, e.g. behind a long reader).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KeytrailDb } from './connection.js';

const WORKER_URL = new URL('./checkpoint-worker.js', import.meta.url);
/** The writer checkpoints by itself only once the WAL holds this much. */
const BACKSTOP_BYTES = 512 * 1024 * 1024;
const INTERVAL_MS = 200;

export class BackgroundCheckpointer {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly handle: KeytrailDb,
    private readonly worker: Worker,
    private readonly previousAutocheckpoint: number,
  ) {
    // Listened for from the start: a checkpointer that failed early has exited before stop() is called.
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts checkpointing in the background; null when that is not possible (in-memory database, no compiled worker). */
  static start(handle: KeytrailDb): BackgroundCheckpointer | null {
    if (handle.path === ':memory:' || handle.path === '' || WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return null;
    if (handle.sqlite.pragma('journal_mode', { simple: true }) !== 'wal') return null;
    const previous = handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    const pageSize = handle.sqlite.pragma('page_size', { simple: true }) as number;
    const worker = new Worker(WORKER_URL, { workerData: { path: handle.path, intervalMs: INTERVAL_MS }, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    // A failing checkpointer only means the writer checkpoints by itself again.
    worker.on('error', () => {
      if (handle.sqlite.open) handle.sqlite.pragma(`wal_autocheckpoint = ${previous}`);
    });
    handle.sqlite.pragma(`wal_autocheckpoint = ${Math.ceil(BACKSTOP_BYTES / pageSize)}`);
    return new BackgroundCheckpointer(handle, worker, previous);
  }

  /** Stops the checkpointer (after its current checkpoint) and gives checkpoints back to the writer. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
    this.handle.sqlite.pragma(`wal_autocheckpoint = ${this.previousAutocheckpoint}`);
  }
}
