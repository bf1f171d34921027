/**
 * Listing and summary output (CONTRACT.md "Conventions"): stdout carries only the command's output.
 * `json` is one array, `ndjson` one object per line, `csv` a header row with arrays joined by `;`,
 * `table` aligned columns for a person.
 */
import { UsageError } from '../db/errors.js';

export const LIST_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export function parseListFormat(value: string | undefined): ListFormat {
  const v = value ?? 'table';
  if (!(LIST_FORMATS as readonly string[]).includes(v)) {
    throw new UsageError(`--format must be one of ${LIST_FORMATS.join(', ')} (got "${v}")`);
  }
  return v as ListFormat;
}

/** Summaries of work done take only table (human text) or json (one object on one line). */
export function parseSummaryFormat(value: string | undefined): 'table' | 'json' {
  const v = value ?? 'table';
  if (v !== 'table' && v !== 'json') throw new UsageError(`--format must be table or json (got "${v}")`);
  return v;
}

export type Row = Record<string, unknown>;

export interface Column {
  key: string;
  header?: string;
  /** Longest width in table output; longer values are shortened in the middle (paths keep both ends). */
  maxWidth?: number;
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = Array.isArray(value) ? value.map((v) => (v === null ? '' : String(v))).join(';') : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: unknown[]): string {
  return values.map(csvCell).join(',');
}

function tableCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

/** Shortens in the middle so both the mount and the leaf of a long path stay readable. */
export function shorten(text: string, width: number): string {
  if (text.length <= width || width < 5) return text;
  const keep = width - 1;
  const head = Math.ceil(keep / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`;
}

export function renderTable(rows: object[], columns: Column[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => columns.map((c) => shorten(tableCell((r as Row)[c.key]), c.maxWidth ?? 60)));
  const headers = columns.map((c) => c.header ?? c.key);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

/**
 * Writes rows in the chosen format. Rows are written as they come for ndjson/csv so long listings stream;
 * `table` needs every row to align columns.
 */
export function writeRows(
  rows: Iterable<object>,
  format: ListFormat,
  columns: Column[],
  out: NodeJS.WritableStream = process.stdout,
): number {
  let n = 0;
  if (format === 'table') {
    const all = [...rows];
    out.write(renderTable(all, columns));
    return all.length;
  }
  if (format === 'json') {
    out.write('[');
    for (const r of rows) out.write((n++ === 0 ? '\n' : ',\n') + JSON.stringify(r));
    out.write(n === 0 ? ']\n' : '\n]\n');
    return n;
  }
  if (format === 'ndjson') {
    for (const r of rows) {
      out.write(JSON.stringify(r) + '\n');
      n++;
    }
    return n;
  }
  out.write(csvLine(columns.map((c) => c.key)) + '\n');
  for (const r of rows) {
    out.write(csvLine(columns.map((c) => (r as Row)[c.key])) + '\n');
    n++;
  }
  return n;
}

/** A summary of work done: one JSON object on one line, or `key: value` lines for a person. */
export function writeSummary(summary: Row, format: 'table' | 'json', out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'json') {
    out.write(JSON.stringify(summary) + '\n');
    return;
  }
  const flat = (obj: Row, prefix = ''): string[] =>
    Object.entries(obj).flatMap(([k, v]) =>
      v !== null && typeof v === 'object' && !Array.isArray(v) ? flat(v as Row, `${prefix}${k}.`) : [`${prefix}${k}: ${tableCell(v)}`],
    );
  out.write(flat(summary).join('\n') + '\n');
}
