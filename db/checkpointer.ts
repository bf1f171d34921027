/**
 * Moves WAL checkpoints off the writing thread during a bulk ingest. A checkpoint copies every page committed
 * since the last one into the database file and fsyncs it; done by the writer (SQLite's autocheckpoint), that
 * stalls inserts for about as long as the inserts themselves took. A worker thread with its own connection
 * checkpoints passively a few times a second instead, while the writer's autocheckpoint is raised to a
 * backstop (the WAL never grows past it even if the checkpointer cannot keep up, e.g. behind a long reader).
 *
 * The WAL file only starts over from its beginning when a write transaction begins with every committed frame
 * copied. Writing on without that, it grew to the backstop, where the writer copied a whole group and fsynced
 * twice (~1 s, twice in a 1M-line ingest); its frames were appended (new blocks) instead of overwritten, and
 * closing removed a ~600 MB file (~0.6 s on a disk that discards freed blocks). So once the WAL holds
 * RESTART_BYTES and the checkpointer has copied everything committed, the writer ends its group early and
 * copies that short group itself (restartWal): a restart costs a fraction of the backstop's.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KeytrailDb } from './connection.js';
import { createProgress, noteWriterCommit, readReport, reportsWritten, writerCommits, type CheckpointReport } from './checkpoint-progress.js';

// From dist/db, and from the bundled CLI in dist/cli (esbuild.config.mjs).
const WORKER_URL = new URL('../db/checkpoint-worker.js', import.meta.url);
/** The writer checkpoints by itself only once the WAL holds this much. */
const BACKSTOP_BYTES = 512 * 1024 * 1024;
const INTERVAL_MS = 200;
/** The WAL size from which the writer starts it over as soon as the checkpointer has caught up. */
const RESTART_BYTES = 256 * 1024 * 1024;

export class BackgroundCheckpointer {
  private readonly exited: Promise<void>;
  /** Reports from before this commit count describe the WAL before its last restart. */
  private reportsFrom = 0;
  /**
   * The WAL's frames when the writer last tried to start it over. A restart can fail (another connection still
   * reading the old frames, or the writer's checkpoint found the checkpointer mid-copy): the next try then waits
   * until the WAL has grown by a quarter of the threshold, instead of cutting every group short.
   */
  private logAtRestart = 0;
  /** The report restartDue last said yes on: restartWal measures the WAL by it, not by a later one. */
  private dueReport: CheckpointReport | null = null;

  private constructor(
    private readonly handle: KeytrailDb,
    private readonly worker: Worker,
    private readonly previousAutocheckpoint: number,
    /** The writer's commit count and the checkpointer's last report, shared with its thread (checkpoint-progress.ts). */
    private readonly progress: Int32Array,
    private readonly restartFrames: number,
  ) {
    // Listened for from the start: a checkpointer that failed early has exited before stop() is called.
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  }

  /** Starts checkpointing in the background; null when that is not possible (in-memory database, no compiled worker). */
  static start(handle: KeytrailDb, opts: { restartBytes?: number; intervalMs?: number } = {}): BackgroundCheckpointer | null {
    if (handle.path === ':memory:' || handle.path === '' || WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return null;
    if (handle.sqlite.pragma('journal_mode', { simple: true }) !== 'wal') return null;
    const previous = handle.sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    const pageSize = handle.sqlite.pragma('page_size', { simple: true }) as number;
    const progress = createProgress();
    const worker = new Worker(WORKER_URL, { workerData: { path: handle.path, intervalMs: opts.intervalMs ?? INTERVAL_MS, progress }, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    // A failing checkpointer only means the writer checkpoints by itself again.
    worker.on('error', () => {
      if (handle.sqlite.open) handle.sqlite.pragma(`wal_autocheckpoint = ${previous}`);
    });
    handle.sqlite.pragma(`wal_autocheckpoint = ${Math.ceil(BACKSTOP_BYTES / pageSize)}`);
    return new BackgroundCheckpointer(handle, worker, previous, progress, Math.ceil((opts.restartBytes ?? RESTART_BYTES) / pageSize));
  }

  /** The writer committed (a group): what the checkpointer reports from now on includes it. */
  noteCommit(): void {
    noteWriterCommit(this.progress);
  }

  /**
   * Whether the writer should end its group now and start the WAL over (restartWal): the WAL is large, and the
   * checkpointer has copied everything committed up to the writer's last commit.
   */
  get restartDue(): boolean {
    const r = readReport(this.progress);
    if (r.commits !== writerCommits(this.progress) || r.commits < this.reportsFrom || r.checkpointed !== r.log) return false;
    const startedOver = r.log < this.logAtRestart;
    const due = r.log >= this.restartFrames && (startedOver || r.log >= this.logAtRestart + this.restartFrames / 4);
    if (due) this.dueReport = r;
    return due;
  }

  /** Checkpoints the background thread has completed (not busy) so far. */
  get checkpointsDone(): number {
    return reportsWritten(this.progress);
  }

  /**
   * After the writer ended its group early: copies that group (and anything the checkpointer has not) on the
   * writer's connection, so that its next write transaction starts the WAL over.
   */
  restartWal(): void {
    this.logAtRestart = (this.dueReport ?? readReport(this.progress)).log;
    this.dueReport = null;
    // The WAL starts over when the next group writes; a report of a checkpoint begun before then describes the old one.
    this.reportsFrom = writerCommits(this.progress) + 1;
    try {
      this.handle.sqlite.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Only a saving (the group is committed): the WAL grows on, up to the backstop, as it did before.
    }
  }

  /** Stops the checkpointer (after its current checkpoint) and gives checkpoints back to the writer. */
  async stop(): Promise<void> {
    this.worker.postMessage('stop');
    await this.exited;
    this.handle.sqlite.pragma(`wal_autocheckpoint = ${this.previousAutocheckpoint}`);
  }
}
