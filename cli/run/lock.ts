import { openSync, closeSync, writeSync, readFileSync, unlinkSync } from 'node:fs';
import { KeytrailError } from '../../db/errors.js';

/**
 * An exclusive lock file beside the database, so two overlapping nightly runs never interleave.
 * The file holds the owner's pid; a lock whose process is gone (a crashed run) is taken over.
 */
export interface RunLock {
  path: string;
  release(): void;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireRunLock(dbPath: string): RunLock {
  const path = `${dbPath}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release: () => {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // vanished between open and read: retry
      }
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new KeytrailError(`another run is in progress (pid ${owner}, lock ${path})`);
      }
      try {
        unlinkSync(path); // stale lock of a run that died
      } catch {
        // someone else removed it
      }
    }
  }
  throw new KeytrailError(`another run is in progress (lock ${path})`);
}
