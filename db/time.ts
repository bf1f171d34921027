/**
 * Vault writes RFC3339Nano times with 0–9 fractional digits, which do not sort as text ("…04Z" > "…04.1Z").
 * A time key is the same instant in UTC with exactly 9 fractional digits: it sorts and compares as text,
 * and keeps the full precision that JS Date would lose.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

export function toTimeKey(time: string): string | null {
  return utcTimeKey(time) ?? timeKeyByPattern(time);
}

/** Any RFC 3339 time (toTimeKey's general path; exported for the tests that compare both paths). */
export function timeKeyByPattern(time: string): string | null {
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

const ZEROS = '000000000';
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * The form Vault writes, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, read character by character: the key is the time
 * itself when it has nine fractional digits. Every audit line has a time; the regular expression and its match
 * array took ~3% of the parse worker. Undefined for any other form (the regular expression decides).
 */
function utcTimeKey(time: string): string | undefined {
  const n = time.length;
  if (n < 20 || n > 30 || time.charCodeAt(n - 1) !== 0x5a /* Z */) return undefined;
  for (let i = 0; i < 19; i++) {
    const c = time.charCodeAt(i);
    const expected = i === 4 || i === 7 ? 0x2d /* - */ : i === 10 ? 0x54 /* T */ : i === 13 || i === 16 ? 0x3a /* : */ : -1;
    if (expected === -1 ? c < DIGIT_0 || c > DIGIT_9 : c !== expected) return undefined;
  }
  if (n === 20) return `${time.slice(0, 19)}.${ZEROS}Z`;
  if (n === 21 || time.charCodeAt(19) !== 0x2e /* . */) return undefined;
  for (let i = 20; i < n - 1; i++) {
    const c = time.charCodeAt(i);
    if (c < DIGIT_0 || c > DIGIT_9) return undefined;
  }
  return n === 30 ? time : `${time.slice(0, n - 1)}${ZEROS.slice(n - 21)}Z`;
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
