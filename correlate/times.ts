import { toTimeKey, timeKeyToIso } from '../db/time.js';

/** A time key moved by whole seconds; the sub-second digits are kept as they were. */
export function addSeconds(key: string, seconds: number): string {
  // The same job start/finish times are shifted by the same skew for every request of the job.
  const memoKey = `${seconds}|${key}`;
  let shifted = shiftMemo.get(memoKey);
  if (shifted === undefined) {
    if (shiftMemo.size >= 50_000) shiftMemo.clear();
    shifted = shiftKey(key, seconds);
    shiftMemo.set(memoKey, shifted);
  }
  return shifted;
}

const shiftMemo = new Map<string, string>();

function shiftKey(key: string, seconds: number): string {
  const ms = Date.parse(`${key.slice(0, 19)}Z`) + seconds * 1000;
  return `${new Date(ms).toISOString().slice(0, 19)}${key.slice(19)}`;
}

/** GitLab and Vault times (ISO/RFC3339, any offset) as a time key; null when absent or unreadable. */
export function keyOf(time: string | null | undefined): string | null {
  if (!time) return null;
  const key = toTimeKey(time);
  if (key) return key;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? null : `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
}

export function isoOf(key: string | null | undefined): string | null {
  return key ? timeKeyToIso(key) : null;
}

export function minKey(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}
