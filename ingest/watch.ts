/**
 * Follow mode: chokidar wakes a scan as soon as something changes, and a periodic scan is the ground truth
 * (file events can be missed, coalesced or unsupported). Scans never overlap; the loop ends when the signal
 * aborts, after the scan in progress has committed.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { watch } from 'chokidar';

/** Directories are watched themselves; a file is watched through its directory (rename + recreate). */
export function watchTargets(paths: string[]): string[] {
  return [
    ...new Set(
      paths.map((p) => {
        const full = resolve(p);
        try {
          return statSync(full).isDirectory() ? full : dirname(full);
        } catch {
          return dirname(full);
        }
      }),
    ),
  ];
}

export async function watchForChanges(targets: string[], pollMs: number, signal: AbortSignal | undefined, scan: () => Promise<void>): Promise<void> {
  let wake: (() => void) | null = null;
  let dirty = false;
  const poke = () => {
    dirty = true;
    wake?.();
    wake = null;
  };
  const watcher = watch(targets, { ignoreInitial: true, depth: 0 });
  watcher.on('all', poke);
  watcher.on('error', () => {});
  const onAbort = () => poke();
  signal?.addEventListener('abort', onAbort);
  try {
    while (!signal?.aborted) {
      if (!dirty) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, pollMs);
        });
      }
      dirty = false;
      if (signal?.aborted) break;
      await scan();
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await watcher.close();
  }
}
