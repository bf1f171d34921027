import { dayRange } from '../../db/index.js';

/** A report period: whole UTC days, `to` inclusive (CONTRACT.md conventions). */
export interface Period {
  from: string;
  to: string;
  /** Inclusive bounds as time keys (9 fractional digits, comparable as text). */
  fromKey: string;
  toKey: string;
}

export function makePeriod(from: string, to: string): Period {
  const range = dayRange(from, to);
  return { from, to, fromKey: range.from!, toKey: range.to! };
}

/** The default sample seed: the period itself, so the same period always draws the same sample. */
export function defaultSeed(period: Period): string {
  return `${period.from}..${period.to}`;
}

/** Every UTC day of the period, in order. */
export function periodDays(period: Period): string[] {
  const days: string[] = [];
  const end = Date.parse(`${period.to}T00:00:00Z`);
  for (let t = Date.parse(`${period.from}T00:00:00Z`); t <= end; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}
