/**
 * `ingest vault --listen tcp://HOST:PORT`: the server end of Vault's socket audit device. Vault dials in and
 * writes newline-delimited JSON; several connections (HA nodes, reconnects) share one device. Sockets are
 * never paused (a stalled listener blocks Vault): lines go into the current batch, committed at least every
 * `flushMs` (default 500 ms) and whenever it is full. Stop commits everything received, an unfinished line
 * of a closed connection included (quarantined as `torn`).
 */
import { createServer, type Socket } from 'node:net';
import type { KeytrailDb } from '../db/index.js';
import { BatchBuilder, recycleBatch, type PreparedBatch } from './batch.js';
import { LineSplitter } from './lines.js';
import { keyPathFor } from './redact.js';
import { lazyRedactor } from './reader.js';
import { IngestStore } from './store.js';
import type { IngestLogger, VaultIngestSummary } from './vault-files.js';

export interface SocketListenerOptions {
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  device: string;
  prefix?: string;
  logger?: IngestLogger;
  flushMs?: number;
}

export interface SocketListener {
  /** `host:port` actually bound. */
  address: string;
  port: number;
  /** Counts so far. */
  summary(): VaultIngestSummary;
  /** Stops accepting, drains and closes connections, commits the last batch; returns the summary. */
  stop(): Promise<VaultIngestSummary>;
}

const DRAIN_GRACE_MS = 200;

export async function startSocketListener(handle: KeytrailDb, opts: SocketListenerOptions): Promise<SocketListener> {
  const store = new IngestStore(handle);
  const log = opts.logger;
  const redactor = lazyRedactor(keyPathFor(handle.path));
  const prefix = opts.prefix ?? null;
  let logRaw = store.deviceIsLogRaw(opts.device);
  let pos = store.socketOffset(opts.device);
  let builder = new BatchBuilder({ prefix, logRaw, redactor }, pos);
  const totals = { lines: 0, bytes: 0, stored: 0, duplicates: 0, quarantined: 0 };
  let connectionsWithBytes = 0;
  const startedAt = performance.now();
  const sockets = new Set<Socket>();
  let warned = false;

  // Finished batches not committed yet, oldest first. A batch whose commit fails (the database locked by
  // another writer past the busy timeout, a full disk) waits here and is committed again, in stream order,
  // at the next flush: the sockets keep being read meanwhile, and nothing received is dropped.
  const unsaved: PreparedBatch[] = [];
  const flush = () => {
    if (builder.lineCount > 0) {
      unsaved.push(builder.finish());
      logRaw = builder.deviceLogRaw;
      builder = new BatchBuilder({ prefix, logRaw, redactor }, pos);
    }
    while (unsaved.length > 0) {
      const batch = unsaved[0]!;
      const res = store.commit({ device: opts.device, source: 'socket', fileFingerprint: null, filePath: null }, batch, null);
      unsaved.shift();
      // Committed: its buffers serve a later batch.
      recycleBatch(batch);
      totals.lines += batch.lineCount;
      totals.bytes += batch.endOffset - batch.startOffset;
      totals.stored += res.stored;
      totals.duplicates += res.duplicates;
      totals.quarantined += res.quarantined;
      if (batch.redacted && !warned) {
        warned = true;
        log?.warn({ device: opts.device }, 'device writes tokens in clear (log_raw=true): values are redacted with keytrail\'s keyed hash before storage');
      }
    }
  };
  const flushSafely = () => {
    try {
      flush();
    } catch (err) {
      const lines = unsaved.reduce((n, b) => n + b.lineCount, 0);
      log?.warn({ device: opts.device, error: (err as Error).message, waiting_lines: lines }, 'socket batch commit failed; will retry');
    }
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    let sent = false;
    const splitter = new LineSplitter({
      line: (source, start, end) => {
        builder.addLineFrom(source, start, end, pos);
        pos += end - start + 1;
      },
      // An over-long line's pieces are not hashed into the batch: other connections' lines come in between. The
      // splitter (one a connection) gives the line's own SHA-256.
      oversized: (_offset, length, sha256) => {
        builder.addOversized(pos, length, true, sha256);
        pos += length + 1;
      },
    });
    socket.on('data', (chunk: Buffer) => {
      if (!sent) {
        sent = true;
        connectionsWithBytes++;
      }
      splitter.push(chunk);
      if (builder.full) flushSafely();
    });
    const finish = () => {
      if (!sockets.delete(socket)) return;
      const tail = splitter.unfinished();
      if (tail) {
        builder.addTorn(tail, pos);
        pos += tail.length;
      } else if (splitter.unfinishedLength > 0) {
        builder.addOversized(pos, splitter.unfinishedLength, false, splitter.unfinishedOversizedSha256());
        pos += splitter.unfinishedLength;
      }
      splitter.dropUnfinished();
    };
    socket.on('close', finish);
    socket.on('error', (err) => log?.debug?.({ error: err.message }, 'audit socket connection error'));
  });
  const timer = setInterval(flushSafely, opts.flushMs ?? 500);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  log?.info({ device: opts.device, address: `${host}:${port}` }, 'socket audit device listening');

  const summary = (): VaultIngestSummary => {
    const seconds = (performance.now() - startedAt) / 1000;
    return { files: connectionsWithBytes, ...totals, rate: seconds > 0 ? Math.round(totals.lines / seconds) : totals.lines };
  };

  let stopped: Promise<VaultIngestSummary> | null = null;
  return {
    address: `${host}:${port}`,
    port,
    summary,
    stop: () =>
      (stopped ??= (async () => {
        const closed = new Promise<void>((r) => server.close(() => r()));
        // Let data already sent reach the sockets' handlers before closing them.
        await new Promise((r) => setTimeout(r, DRAIN_GRACE_MS));
        for (const s of [...sockets]) {
          s.destroy();
          s.emit('close', false);
        }
        await closed;
        clearInterval(timer);
        flush();
        return summary();
      })()),
  };
}
