/**
 * Vault writes RFC3339Nano times with 0–9 fractional digits, which do not sort as text ("…04Z" > "…04.1Z").
 * A time key is the same instant in UTC with exactly 9 fractional digits: it sorts and compares as text,
 * and keeps the full precision that JS Date would lose.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

export function toTimeKey(time: string): string | null {
  const m = RFC3339.exec(time);
  if (!m) return null;
  const [, date, clock, frac = '', zone] = m;
  const nanos = frac.padEnd(9, '0');
  if (zone === 'Z' || zone === 'z' || zone === '+00:00' || zone === '+0000' || zone === '-00:00') {
    return `${date}T${clock}.${nanos}Z`;
  }
  const ms = Date.parse(`${date}T${clock}${zone}`);
  if (Number.isNaN(ms)) return null;
  return `${new Date(ms).toISOString().slice(0, 19)}.${nanos}Z`;
}

/** A JS Date (millisecond precision) as a time key. */
export function dateToTimeKey(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000000Z`;
}

/** Milliseconds since the epoch of a time key (sub-millisecond digits dropped). */
export function timeKeyToMillis(key: string): number {
  return Date.parse(`${key.slice(0, 23)}Z`);
}

/** A time key back to a compact ISO string with trailing fractional zeros trimmed. */
export function timeKeyToIso(key: string): string {
  const frac = key.slice(20, 29).replace(/0+$/, '');
  return `${key.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

/** `YYYY-MM-DD` (a UTC day given as an option) → inclusive range of time keys for [from, to]. */
export function dayRange(from: string | undefined, to: string | undefined): { from?: string; to?: string } {
  const out: { from?: string; to?: string } = {};
  if (from) out.from = `${from}T00:00:00.000000000Z`;
  if (to) out.to = `${to}T23:59:59.999999999Z`;
  return out;
}
