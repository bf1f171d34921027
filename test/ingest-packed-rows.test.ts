import { describe, expect, it } from 'vitest';
import { batchOfLines } from './helpers/batches.js';
import { batchTransferList } from '../ingest/batch.js';
import { PackedRowsWriter, rowsOf } from '../ingest/packed-rows.js';
import { parseAuditLine } from '../ingest/parse.js';
import { normaliseEntry } from '../ingest/normalize.js';
import { auditLines } from '../bench/gen-audit.js';

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
    expect(received.rows.ascii).toBe(false);

    // Values repeat within a batch: far fewer distinct strings than string values.
    const stringValues = rows.flatMap((r) => [...r.entry, ...r.hmacs]).filter((v) => typeof v === 'string').length;
    expect(received.rows.stringCount).toBeLessThan(stringValues / 3);
  });

  it('copies an ASCII batch\'s strings without decoding UTF-8, and gives the same values', () => {
    const lines = [...auditLines({ lines: 600, seed: 8 })];
    // A value longer than a decoding window (32 KiB), among ordinary ones.
    lines.splice(100, 0, `{"time":"2026-03-02T09:00:01Z","type":"request","request":{"id":"r-long","operation":"read","path":"secret/${'x'.repeat(40_000)}"}}`);
    const batch = batchOfLines(lines);
    expect(batch.rows.ascii).toBe(true);
    expect(batch.rows.ends[batch.rows.stringCount - 1]).toBeGreaterThan(4 * 32 * 1024); // several windows
    rowsOf(batch.rows).forEach((row, i) => {
      const { entry, hmacs } = normalised(lines[i]!);
      expect(row.entry).toEqual(entry);
      expect(row.hmacs).toEqual(hmacs);
    });
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
