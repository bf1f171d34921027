import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../db/index.js';
import { startSocketListener } from '../ingest/index.js';
import { tempDir } from './helpers/cli.js';
import { count, lines, query, startCli, waitFor } from './fixtures/ingest/util.js';

const tmp = tempDir('keytrail-socket-');
afterAll(() => tmp.cleanup());

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Writes the text in uneven pieces, as a TCP stream may deliver it. */
async function send(s: Socket, text: string, pieces: number): Promise<void> {
  const size = Math.ceil(text.length / pieces);
  for (let i = 0; i < text.length; i += size) {
    s.write(text.slice(i, i + size));
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('ingest vault --listen', () => {
  it('serves three concurrent senders, commits within a second and loses nothing on SIGINT', async () => {
    const db = join(tmp.dir, 'k.db');
    const run = startCli(['--db', db, 'ingest', 'vault', '--listen', 'tcp://127.0.0.1:0', '--device', 'sock', '--format', 'json']);
    await waitFor(() => /listening on tcp:\/\/127\.0\.0\.1:\d+/.test(run.stderr()), 20_000, 'the listening address');
    const port = Number(/listening on tcp:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr())![1]);

    const all = lines({ lines: 460, seed: 21 });
    const parts = [all.slice(0, 150), all.slice(150, 300), all.slice(300, 450)];
    const sockets = await Promise.all(parts.map(() => open(port)));
    await Promise.all(sockets.map((s, i) => send(s, parts[i]!.map((l) => l + '\n').join(''), 37)));
    // The third sender dies mid-line: that fragment is quarantined as torn, not lost.
    sockets[2]!.write(all[450]!.slice(0, 50));
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.end(r))));

    // Batches are committed at least every second while the listener keeps running.
    await waitFor(() => count(db, 'audit_entries') === 450, 3_000, 'entries committed');
    expect(run.child.exitCode).toBeNull();

    // A connection still open when the stop arrives: what it sent is committed.
    const late = await open(port);
    late.write(all.slice(451, 460).map((l) => l + '\n').join(''));
    await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const { code } = await run.exited;
    expect(code).toBe(0);
    const summary = JSON.parse(run.stdout().trim()) as Record<string, number>;
    expect(summary).toMatchObject({ lines: 460, stored: 459, duplicates: 0, quarantined: 1 });
    expect(count(db, 'audit_entries')).toBe(459);
    expect(query(db, 'SELECT device, source, reason FROM quarantine')).toEqual([{ device: 'sock', source: 'socket', reason: 'torn' }]);
    expect(query(db, "SELECT DISTINCT device FROM audit_copies")).toEqual([{ device: 'sock' }]);
    late.destroy();
  });
});

describe('ingest vault --listen with an over-long line', () => {
  it('quarantines it with the SHA-256 of its bytes while another connection\'s lines come in between', async () => {
    const path = join(tmp.dir, 'long.db');
    const handle = await openDatabase(path);
    const listener = await startSocketListener(handle, { host: '127.0.0.1', port: 0, device: 'sock', flushMs: 100 });
    try {
      const all = lines({ lines: 40, seed: 41 });
      const long = '{"x":"' + 'a'.repeat(16 * 1024 * 1024) + '"}';
      const [a, b] = await Promise.all([open(listener.port), open(listener.port)]);
      // Connection a sends its over-long line in pieces; connection b's lines arrive meanwhile.
      const third = Math.ceil(long.length / 3);
      a.write(long.slice(0, third));
      await send(b, all.slice(0, 20).map((l) => l + '\n').join(''), 4);
      a.write(long.slice(third, 2 * third));
      await send(b, all.slice(20).map((l) => l + '\n').join(''), 4);
      a.write(long.slice(2 * third) + '\n');
      await Promise.all([a, b].map((s) => new Promise<void>((r) => s.end(r))));
      await waitFor(() => listener.summary().lines === 41, 10_000, 'every line committed');
      const summary = await listener.stop();
      expect(summary).toMatchObject({ lines: 41, stored: 40, quarantined: 1 });
      expect(query(path, 'SELECT reason, byte_length, detail FROM quarantine')).toEqual([
        {
          reason: 'oversized',
          byte_length: long.length,
          detail: `line of ${long.length} bytes exceeds the 16 MiB limit; SHA-256 of its bytes: ${createHash('sha256').update(long).digest('hex')}`,
        },
      ]);
    } finally {
      await listener.stop();
      await handle.close();
    }
  });
});

describe('ingest vault --listen while another writer holds the database', () => {
  it('keeps the batches whose commit failed and commits them, in order, once the database is free', async () => {
    const path = join(tmp.dir, 'locked.db');
    const handle = await openDatabase(path);
    // Fail fast instead of waiting the 10 s busy timeout.
    handle.sqlite.pragma('busy_timeout = 50');
    const warnings: string[] = [];
    const listener = await startSocketListener(handle, {
      host: '127.0.0.1',
      port: 0,
      device: 'sock',
      flushMs: 100,
      logger: { info() {}, warn: (_fields: unknown, msg: string) => warnings.push(msg) },
    });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const all = lines({ lines: 120, seed: 31 });
      const s = await open(listener.port);
      await send(s, all.slice(0, 60).map((l) => l + '\n').join(''), 5);
      await waitFor(() => warnings.some((w) => w.includes('commit failed')), 5_000, 'a failed commit');
      await send(s, all.slice(60).map((l) => l + '\n').join(''), 5);
      await new Promise((r) => setTimeout(r, 250));
      other.exec('ROLLBACK');
      await waitFor(() => listener.summary().lines === 120, 5_000, 'every line committed');
      s.destroy();
      const summary = await listener.stop();
      expect(summary).toMatchObject({ lines: 120, stored: 120, duplicates: 0, quarantined: 0 });
      expect(count(path, 'audit_entries')).toBe(120);
      // Stream order kept: each batch starts where the one before ended.
      const ranges = query<{ start_offset: number; end_offset: number }>(path, 'SELECT start_offset, end_offset FROM ingest_batches ORDER BY id');
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start_offset).toBe(ranges[i - 1]!.end_offset);
    } finally {
      other.close();
      await listener.stop();
      await handle.close();
    }
  });
});
