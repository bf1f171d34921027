/**
 * Background WAL checkpointer (see checkpointer.ts): its own connection to the database copies committed WAL
 * frames into the database file, and waits for their fsync, while the writer keeps inserting. PASSIVE never
 * blocks the writer or readers; it copies what no reader still needs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const port = parentPort!;
const db = new Database(path);
db.pragma('busy_timeout = 100');
let timer: NodeJS.Timeout | undefined;

function checkpoint(): void {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
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
