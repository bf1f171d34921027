import { UsageError } from '../../db/errors.js';

/** A reporting period: `2026-03` (a month) or `2026-Q1` (a quarter), as UTC days with `to` inclusive. */
export interface Period {
  name: string;
  from: string;
  to: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate(); // month is 1-based here
}

function monthPeriod(year: number, month: number): Period {
  return { name: `${year}-${pad(month)}`, from: `${year}-${pad(month)}-01`, to: `${year}-${pad(month)}-${pad(lastDayOfMonth(year, month))}` };
}

function quarterPeriod(year: number, q: number): Period {
  const first = (q - 1) * 3 + 1;
  const last = first + 2;
  return { name: `${year}-Q${q}`, from: `${year}-${pad(first)}-01`, to: `${year}-${pad(last)}-${pad(lastDayOfMonth(year, last))}` };
}

export function parsePeriod(text: string): Period {
  const month = /^(\d{4})-(\d{2})$/.exec(text);
  if (month) {
    const m = Number(month[2]);
    if (m >= 1 && m <= 12) return monthPeriod(Number(month[1]), m);
  }
  const quarter = /^(\d{4})-Q([1-4])$/i.exec(text);
  if (quarter) return quarterPeriod(Number(quarter[1]), Number(quarter[2]));
  throw new UsageError(`--report-period must look like 2026-03 or 2026-Q1 (got "${text}")`);
}

/** The last complete period before `now` for a schedule. */
export function previousPeriod(schedule: 'monthly' | 'quarterly', now: Date): Period {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  if (schedule === 'monthly') return month === 1 ? monthPeriod(year - 1, 12) : monthPeriod(year, month - 1);
  const q = Math.floor((month - 1) / 3) + 1;
  return q === 1 ? quarterPeriod(year - 1, 4) : quarterPeriod(year, q - 1);
}
