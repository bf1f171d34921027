/**
 * Background WAL checkpointer (see checkpointer.ts): its own connection to the database copies committed WAL
 * frames into the database file, and waits for their fsync, while the writer keeps inserting. PASSIVE never
 * blocks the writer or readers; it copies what no reader still needs. After each checkpoint it writes how far it
 * got (frames in the WAL, frames copied) and the writer's commit count it started after into shared memory
 * (checkpoint-progress.ts), where the writer reads it without waiting for its event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { writeReport, writerCommits } from './checkpoint-progress.js';

const { path, intervalMs, progress } = workerData as { path: string; intervalMs: number; progress: Int32Array };
const port = parentPort!;
const db = new Database(path);
db.pragma('busy_timeout = 100');
let timer: NodeJS.Timeout | undefined;

function checkpoint(): void {
  try {
    const commitsBefore = writerCommits(progress);
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    if (!result || result.busy) return;
    writeReport(progress, { commits: commitsBefore, log: result.log, checkpointed: result.checkpointed });
  } catch {
    // Busy or locked: the next tick tries again (the writer's own autocheckpoint stays as a backstop).
  }
}

function tick(): void {
  checkpoint();
  timer = setTimeout(tick, intervalMs);
}

// The message runs between ticks (one event loop), so clearing the timer is enough to stop.
port.on('message', () => {
  clearTimeout(timer);
  db.close();
  port.close();
});
tick();
