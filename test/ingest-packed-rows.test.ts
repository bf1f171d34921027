import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { batchOfLines } from './helpers/batches.js';
import { batchTransferList } from '../ingest/batch.js';
import { forEachRowInto, PackedRowsWriter, ROW_WIDTH, rowsOf } from '../ingest/packed-rows.js';
import { parseAuditLine } from '../ingest/parse.js';
import { COPY_HMAC_COLUMNS, ENTRY_COLUMNS, NUMBER_ENTRY_COLUMNS, normaliseEntry } from '../ingest/normalize.js';
import { IngestStore } from '../ingest/store.js';
import { openDatabase } from '../db/index.js';
import { auditLines } from '../bench/gen-audit.js';

const tmp = tempDir('keytrail-packed-');
afterAll(() => tmp.cleanup());

function normalised(line: string) {
  const p = parseAuditLine(Buffer.from(line), null);
  if (!p.ok) throw new Error(p.detail);
  return normaliseEntry(p.entry, p.requestId, p.type, p.time, p.timeKey);
}

describe('ingest: rows packed as lines are parsed and handed to the writer', () => {
  it('keeps every line\'s normalised values and its place in the stored bytes, across a thread hand-over', () => {
    const lines = [...auditLines({ lines: 300, seed: 5 })];
    // A line with pre-1.2 empty values and a help request without id: nulls and a null request id travel too.
    lines.push('{"time":"2026-03-02T09:00:00.5Z","type":"request","auth":{"token_type":""},"request":{"operation":"help","path":"sys/x","remote_port":-1.5}}');
    // Strings travel as UTF-8 bytes: characters of two, three and four bytes come back as they were.
    lines.push('{"time":"2026-03-02T09:00:01Z","type":"request","auth":{"display_name":"jwt-zoë","metadata":{"project":"日本/ü"}},"request":{"id":"r-ü","operation":"read","path":"secret/data/ünïcødé/😀"}}');
    const batch = batchOfLines(lines);

    // What the worker posts (structured clone, typed arrays transferred) is what the writer reads.
    const received = structuredClone(batch, { transfer: batchTransferList(batch) });
    expect(batch.rows.cells.byteLength).toBe(0); // transferred, not copied
    expect(batch.stored.byteLength).toBe(0);
    const rows = rowsOf(received.rows);
    expect(rows).toHaveLength(lines.length);
    const stored = Buffer.from(received.stored);
    rows.forEach((row, i) => {
      const { entry, hmacs } = normalised(lines[i]!);
      expect(row.entry).toEqual(entry);
      expect(row.hmacs).toEqual(hmacs);
      expect(stored.subarray(row.lineOffset, row.lineOffset + row.lineLength).toString()).toBe(lines[i]);
    });
    expect(rows.at(-2)!.entry[0]).toBeNull(); // request id
    expect(rows.at(-2)!.entry[13]).toBe(-1.5); // remote_port: a number, sign and fraction kept
    expect(rows.at(-1)!.entry[5]).toBe('secret/data/ünïcødé/😀');

    // Values repeat within a batch: far fewer distinct strings than string values.
    const stringValues = rows.flatMap((r) => [...r.entry, ...r.hmacs]).filter((v) => typeof v === 'string').length;
    expect(received.rows.stringCount).toBeLessThan(stringValues / 3);
  });

  it('fills the number columns with numbers and every other column with strings (the writer casts those to TEXT)', () => {
    const lines = [...auditLines({ lines: 400, seed: 10 })];
    for (const line of lines) {
      const { entry } = normalised(line);
      ENTRY_COLUMNS.forEach((column, c) => {
        const kind = entry[c] === null ? 'null' : typeof entry[c];
        expect([column, kind]).toEqual([column, expect.stringMatching(NUMBER_ENTRY_COLUMNS.includes(column) ? /^(number|null)$/ : /^(string|null)$/)]);
      });
    }
  });

  it('gives each distinct string once, as a view of its UTF-8 bytes', () => {
    const lines = [...auditLines({ lines: 50, seed: 8 })];
    const batch = batchOfLines(lines);
    const args = new Array<unknown>(ROW_WIDTH);
    const views = new Set<unknown>();
    let stringValues = 0;
    let row = 0;
    forEachRowInto(batch.rows, args, 0, () => {
      const { entry, hmacs } = normalised(lines[row++]!);
      [...entry, ...hmacs].forEach((v, c) => {
        if (typeof v !== 'string') return expect(args[c]).toBe(v);
        expect(args[c]).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(args[c] as Uint8Array).equals(Buffer.from(v))).toBe(true);
        views.add(args[c]);
        stringValues++;
      });
    });
    // A repeated value (the same string index) is the same view, not a new one a row.
    expect(views.size).toBe(batch.rows.stringCount);
    expect(views.size).toBeLessThan(stringValues / 3);
  });

  it('stores every string as TEXT, as it was normalised, and finds a second device\'s copy of it', async () => {
    const lines = [...auditLines({ lines: 80, seed: 9 })];
    // An empty path (stored as '', a zero-length view), empty strings normalised to null (root namespace path,
    // pre-1.2 token type), and characters of two, three and four bytes.
    lines.push('{"time":"2026-03-02T09:00:00Z","type":"request","request":{"id":"r-empty","operation":"read","path":""}}');
    lines.push('{"time":"2026-03-02T09:00:01Z","type":"request","auth":{"token_type":"","display_name":"jwt-zoë"},"request":{"id":"r-ü","operation":"read","namespace":{"id":"root","path":""},"path":"secret/data/日本/😀"}}');
    const handle = await openDatabase(join(tmp.dir, 'text.db'));
    try {
      const store = new IngestStore(handle);
      const first = store.commit({ device: 'a', source: 'file', fileFingerprint: 'fa', filePath: '/a' }, batchOfLines(lines), null);
      expect(first.stored).toBe(lines.length);
      // The dedupe probe compares request id and type bound the same way: every line is found again.
      const second = store.commit({ device: 'b', source: 'file', fileFingerprint: 'fb', filePath: '/b' }, batchOfLines(lines), null);
      expect(second).toMatchObject({ stored: 0, duplicates: lines.length });

      const columns = ['id', ...ENTRY_COLUMNS, ...COPY_HMAC_COLUMNS];
      const stored = handle.sqlite.prepare(`SELECT ${columns.join(', ')} FROM audit_entries ORDER BY id`).raw(true).all() as unknown[][];
      stored.forEach((row, i) => {
        const { entry, hmacs } = normalised(lines[i]!);
        expect(row.slice(1)).toEqual([...entry, ...hmacs]);
      });
      const blobs = (table: string, names: readonly string[]) =>
        handle.sqlite.prepare(`SELECT count(*) FROM ${table} WHERE ${names.map((c) => `typeof(${c}) = 'blob'`).join(' OR ')}`).pluck().get();
      expect(blobs('audit_entries', columns)).toBe(0);
      expect(blobs('audit_extra_copies', ['time', 'time_key', 'device', ...COPY_HMAC_COLUMNS])).toBe(0);
      const copy = handle.sqlite.prepare("SELECT c.time, c.accessor FROM audit_extra_copies c JOIN audit_entries e ON e.id = c.entry_id WHERE e.request_id = 'r-ü'").get();
      expect(copy).toEqual({ time: '2026-03-02T09:00:01Z', accessor: null });
    } finally {
      handle.sqlite.close();
    }
  });

  it('keeps values of hundreds of KiB, ASCII or not, whole', () => {
    const lines = ['x', 'é', '😀'].map((c, i) => `{"time":"2026-03-02T09:00:0${i}Z","type":"request","request":{"id":"r-${i}","path":"secret/${c.repeat(100_000)}"}}`);
    const rows = rowsOf(batchOfLines(lines).rows);
    rows.forEach((row, i) => expect(row.entry).toEqual(normalised(lines[i]!).entry));
  });

  it('grows past its first capacity and replaces a row in place', () => {
    const lines = [...auditLines({ lines: 40, seed: 6 })];
    const writer = new PackedRowsWriter(4);
    lines.forEach((line, i) => {
      const { entry, hmacs } = normalised(line);
      writer.setLine(writer.add(entry, hmacs), i * 10, i);
    });
    const replacement = normalised(lines[39]!);
    writer.set(0, replacement.entry, replacement.hmacs);
    const rows = rowsOf(writer.finish());
    expect(rows).toHaveLength(40);
    expect(rows[0]!.entry).toEqual(replacement.entry);
    expect(rows[0]!.lineOffset).toBe(0);
    expect(rows[39]!.lineOffset).toBe(390);
    expect(rows[20]!.entry).toEqual(normalised(lines[20]!).entry);
  });

  it('stores a lone surrogate (not valid UTF-8) as the replacement character, as valid UTF-8 text', () => {
    const writer = new PackedRowsWriter(1);
    const { entry, hmacs } = normalised('{"time":"2026-03-02T09:00:01Z","type":"request","request":{"id":"r-1","path":"a\\ud800b"}}');
    expect(entry[5]).toBe('a\ud800b');
    writer.add(entry, hmacs);
    expect(rowsOf(writer.finish())[0]!.entry[5]).toBe('a\ufffdb');
  });

  it('refuses a value that is not a string, number or null', () => {
    const { entry, hmacs } = normalised([...auditLines({ lines: 1, seed: 7 })][0]!);
    entry[5] = { unexpected: true };
    expect(() => new PackedRowsWriter().add(entry, hmacs)).toThrow(/not a string, number or null/);
  });
});
