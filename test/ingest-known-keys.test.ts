import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { batchOfLines } from './helpers/batches.js';
import { KnownKeys } from '../ingest/known-keys.js';
import { IngestStore } from '../ingest/store.js';
import { openDatabase, requestKey } from '../db/index.js';
import { auditLines } from '../bench/gen-audit.js';

const tmp = tempDir('keytrail-known-keys-');
afterAll(() => tmp.cleanup());

const source = (device: string) => ({ device, source: 'file' as const, fileFingerprint: null, filePath: null });

describe('ingest: the filter of stored request keys that spares the dedupe probe', () => {
  it('never says no for a key it was given, and rarely says maybe for one it was not', () => {
    const known = new KnownKeys();
    const key = (i: number, type: string) => requestKey(`00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`, type);
    for (let i = 0; i < 100_000; i++) known.add(key(i, 'request'));
    let noes = 0;
    for (let i = 0; i < 100_000; i++) if (!known.mayHave(key(i, 'request'))) noes++;
    expect(noes).toBe(0);
    let maybes = 0;
    // The responses of the same requests: keys one apart from those given.
    for (let i = 0; i < 100_000; i++) if (known.mayHave(key(i, 'response'))) maybes++;
    expect(maybes).toBeLessThan(100);
  });

  it('still finds a duplicate that another connection stored after the filter was loaded', async () => {
    const path = join(tmp.dir, 'two-writers.db');
    const first = await openDatabase(path);
    const second = await openDatabase(path);
    try {
      const lines = [...auditLines({ lines: 30, seed: 21 })];
      const a = new IngestStore(first);
      const b = new IngestStore(second);
      expect(a.commit(source('a'), batchOfLines(lines.slice(0, 10)), null).stored).toBe(10); // loads a's filter
      expect(b.commit(source('b'), batchOfLines(lines.slice(10, 20)), null).stored).toBe(10);
      // Lines 10-19 are in the database but not in a's filter: a must probe for them again.
      const result = a.commit(source('a'), batchOfLines(lines.slice(10, 30)), null);
      expect(result).toMatchObject({ stored: 10, duplicates: 10 });
      expect(first.sqlite.prepare('SELECT count(*) FROM audit_entries').pluck().get()).toBe(30);
    } finally {
      first.sqlite.close();
      second.sqlite.close();
    }
  });

  it('still finds a duplicate that other code on the same connection stored after the filter was loaded', async () => {
    const handle = await openDatabase(join(tmp.dir, 'one-connection.db'));
    try {
      const lines = [...auditLines({ lines: 30, seed: 23 })];
      const a = new IngestStore(handle);
      const b = new IngestStore(handle); // e.g. a socket listener beside a file ingest, in one process
      expect(a.commit(source('a'), batchOfLines(lines.slice(0, 10)), null).stored).toBe(10);
      expect(b.commit(source('b'), batchOfLines(lines.slice(10, 20)), null).stored).toBe(10);
      expect(a.commit(source('a'), batchOfLines(lines.slice(10, 30)), null)).toMatchObject({ stored: 10, duplicates: 10 });
      expect(handle.sqlite.prepare('SELECT count(*) FROM audit_entries').pluck().get()).toBe(30);
    } finally {
      handle.sqlite.close();
    }
  });

  it('finds a duplicate it stored itself, within a batch and across batches, and one stored before it started', async () => {
    const path = join(tmp.dir, 'one-writer.db');
    const lines = [...auditLines({ lines: 20, seed: 22 })];
    const before = await openDatabase(path);
    new IngestStore(before).commit(source('a'), batchOfLines(lines.slice(0, 5)), null);
    before.sqlite.close();
    const handle = await openDatabase(path);
    try {
      const store = new IngestStore(handle);
      expect(store.commit(source('b'), batchOfLines(lines.slice(0, 10)), null)).toMatchObject({ stored: 5, duplicates: 5 });
      expect(store.commit(source('c'), batchOfLines([...lines.slice(8, 12), lines[11]!]), null)).toMatchObject({ stored: 2, duplicates: 3 });
      expect(handle.sqlite.prepare('SELECT count(*) FROM audit_entries').pluck().get()).toBe(12);
    } finally {
      handle.sqlite.close();
    }
  });
});
