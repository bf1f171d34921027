/**
 * Background WAL checkpointer (see checkpointer.ts): its own connection to the database copies committed WAL
 * frames into the database file, and waits for their fsync, while the writer keeps inserting. PASSIVE never
 * blocks the writer or readers; it copies what no reader still needs. After each checkpoint it reports how far it
 * got (frames in the WAL, frames copied) and the writer's commit count it started after.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, commits } = workerData as { path: string; intervalMs: number; commits: Int32Array };
const port = parentPort!;
const db = new Database(path);
db.pragma('busy_timeout = 100');
let timer: NodeJS.Timeout | undefined;
let reported = '';

function checkpoint(): void {
  try {
    const commitsBefore = Atomics.load(commits, 0);
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    if (!result || result.busy) return;
    const report = { commits: commitsBefore, log: result.log, checkpointed: result.checkpointed };
    const key = `${report.commits}:${report.log}:${report.checkpointed}`;
    if (key !== reported) port.postMessage(report);
    reported = key;
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
