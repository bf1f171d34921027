/**
 * Simulated time: integer microseconds since the epoch plus 0–999 extra nanoseconds, so audit times carry up
 * to nine fractional digits without losing precision in a JS number.
 */
export interface SimTime {
  us: number;
  ns: number;
}

export const SECOND_US = 1_000_000;
export const MINUTE_US = 60 * SECOND_US;
export const HOUR_US = 60 * MINUTE_US;
export const DAY_US = 24 * HOUR_US;

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC) of a microsecond timestamp. */
function secondsPart(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString().slice(0, 19);
}

/** Go's RFC3339Nano: UTC, `Z`, fractional digits with trailing zeros trimmed (none when zero). */
export function rfc3339Nano(us: number, ns: number): string {
  const frac = pad((((us % SECOND_US) + SECOND_US) % SECOND_US) * 1000 + ns, 9).replace(/0+$/, '');
  return `${secondsPart(us)}${frac ? `.${frac}` : ''}Z`;
}

/** RFC3339 at second resolution (`token_issue_time`). */
export function rfc3339Seconds(us: number): string {
  return `${secondsPart(us)}Z`;
}

/** GitLab's ISO-8601 with milliseconds. */
export function isoMs(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/** Compares two simulated times. */
export function cmpTime(a: SimTime, b: SimTime): number {
  return a.us - b.us || a.ns - b.ns;
}
