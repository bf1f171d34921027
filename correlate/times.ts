import { toTimeKey, timeKeyToIso } from '../db/time.js';

/**
 * A time key moved by whole seconds; the sub-second digits are kept as they were. Called for every access
 * (job windows, token and lease ends): the key's fixed-width fields are read and written directly instead of
 * going through Date.parse and toISOString.
 */
export function addSeconds(key: string, seconds: number): string {
  const ms = Date.UTC(digits(key, 0, 4), digits(key, 5, 7) - 1, digits(key, 8, 10), digits(key, 11, 13), digits(key, 14, 16), digits(key, 17, 19));
  const d = new Date(ms + seconds * 1000);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${key.slice(19)}`
  );
}

function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48);
  return n;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
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
