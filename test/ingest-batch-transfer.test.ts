import { describe, expect, it } from 'vitest';
import { BatchBuilder } from '../ingest/batch.js';
import { packBatch, unpackBatch } from '../ingest/batch-transfer.js';
import { Redactor } from '../ingest/redact.js';
import { auditLines } from '../bench/gen-audit.js';

function buildBatch(lines: string[]) {
  const builder = new BatchBuilder({ prefix: null, logRaw: false, redactor: () => new Redactor(Buffer.alloc(32, 7)) }, 0);
  let offset = 0;
  for (const line of lines) {
    const bytes = Buffer.from(line);
    builder.addLine(bytes, offset);
    offset += bytes.length + 1;
  }
  return builder.finish();
}

describe('ingest: batches handed from the parse worker to the writer', () => {
  it('packs a batch into distinct strings and typed arrays, and unpacks exactly the same entries', () => {
    const lines = [...auditLines({ lines: 300, seed: 5 })];
    // A line with pre-1.2 empty values and a help request without id: nulls and a null request id travel too.
    lines.push('{"time":"2026-03-02T09:00:00.5Z","type":"request","auth":{"token_type":""},"request":{"operation":"help","path":"sys/x","remote_port":-1.5}}');
    const batch = buildBatch(lines);
    const { batch: sent, transfer } = packBatch(batch);

    expect(sent.entries).toEqual([]);
    expect(sent.packed!.count).toBe(batch.entries.length);
    expect(transfer).toHaveLength(2);
    // Values repeat within a batch: far fewer distinct strings than string values.
    const stringValues = batch.entries.flatMap((e) => [...e.entry, ...e.hmacs]).filter((v) => typeof v === 'string').length;
    expect(sent.packed!.strings.length).toBeLessThan(stringValues / 3);

    // What the worker posts (structured clone, typed arrays transferred) is what the writer unpacks.
    const received = structuredClone(sent, { transfer });
    const unpacked = unpackBatch(received);
    expect(unpacked.entries).toEqual(batch.entries);
    expect(unpacked.entries.at(-1)!.requestId).toBeNull();
    expect(unpacked.entries.at(-1)!.entry[13]).toBe(-1.5); // remote_port: a number, sign and fraction kept
    // The rest of the batch crosses as before (the gzip buffer arrives as a plain Uint8Array, as it always did).
    const { entries: _a, rawGzip: gzSent, ...restSent } = unpacked;
    const { entries: _b, rawGzip: gzOriginal, ...restOriginal } = batch;
    expect(restSent).toEqual(restOriginal);
    expect(Buffer.from(gzSent).equals(Buffer.from(gzOriginal))).toBe(true);
  });

  it('sends a batch unpacked when a value is not a string, number or null', () => {
    const batch = buildBatch([...auditLines({ lines: 3, seed: 6 })]);
    batch.entries[1]!.entry[5] = { unexpected: true };
    const { batch: sent, transfer } = packBatch(batch);
    expect(sent.packed).toBeUndefined();
    expect(transfer).toEqual([]);
    expect(unpackBatch(sent)).toBe(sent);
  });
});
