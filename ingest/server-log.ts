/**
 * `ingest vault-server-log`: the Vault operational log. `expiration: revoked lease: lease_id=…` lines are the
 * only record of TTL expiries and cascading revocations (vault-audit.md §5.5), so they become `lease-revoked`
 * server events with their time; seal, unseal, step-down and root-generation lines are kept as server events
 * too. Every other line is counted as `ignored`. Text lines (`2020-03-05T17:05:38.792Z [INFO]  module: msg`,
 * optionally behind a `name[pid]: ` prefix) and JSON lines (`log_format=json`) are understood (CONTRACT.md).
 * Lines of Vault's form behind another prefix (syslog's date and host) are ignored too, but reported, as is a
 * file in which no line has either form: otherwise the lines would be ignored without a word.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { KeytrailDb } from '../db/index.js';
import { KeytrailError } from '../db/errors.js';
import { toTimeKey } from '../db/time.js';
import { expandInputs, readFileHead, stripRotation } from './files.js';
import { LineSplitter } from './lines.js';
import type { PreparedBatch, QuarantineRecord } from './batch.js';
import { emptyPackedRows } from './packed-rows.js';
import { IngestStore, type ServerEventRecord } from './store.js';
import { watchForChanges, watchTargets } from './watch.js';
import type { IngestLogger } from './vault-files.js';

export interface ServerLogIngestOptions {
  logger?: IngestLogger;
  follow?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

export interface ServerLogIngestSummary {
  files: number;
  lines: number;
  bytes: number;
  stored: number;
  ignored: number;
  quarantined: number;
  rate: number;
}

/** The RFC 3339 time a text line starts with. */
const TIMESTAMP = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})`;
const TEXT_LINE = new RegExp(String.raw`^(?:[\w.-]+\[\d+\]:\s+)?(${TIMESTAMP})\s+\[(\w+)\]\s+(.*)$`);
/** Vault's text or JSON form behind any other prefix (`Mar  5 17:05:38 host vault[1234]: `): not read, reported. */
const BEHIND_OTHER_PREFIX = new RegExp(String.raw`\s(?:${TIMESTAMP}\s+\[\w+\]\s|\{"@)`);

export interface ServerLogEvent {
  time: string;
  timeKey: string;
  kind: string;
  leaseId: string | null;
  message: string;
}

function classify(message: string, fields: Record<string, unknown> = {}): { kind: string; leaseId: string | null } | null {
  const lease = /(?:^|\s)expiration: revoked lease: lease_id=("?)([^\s"]+)\1/.exec(message);
  if (lease) return { kind: 'lease-revoked', leaseId: lease[2]! };
  if (/^revoked lease$/.test(message) && typeof fields.lease_id === 'string') return { kind: 'lease-revoked', leaseId: fields.lease_id };
  if (/vault is sealed/.test(message)) return { kind: 'seal', leaseId: null };
  if (/vault is unsealed/.test(message)) return { kind: 'unseal', leaseId: null };
  if (/stepping down from active operation|step-down/.test(message)) return { kind: 'step-down', leaseId: null };
  if (/root generation (?:initialized|finished|canceled|cancelled)/.test(message)) return { kind: 'root-generation', leaseId: null };
  return null;
}

/**
 * Whether the line has one of the server log's forms (`form`), or has one behind a prefix keytrail does not read
 * (`otherPrefix`), and the event it is, if keytrail keeps it.
 */
export function readServerLogLine(text: string): { form: boolean; otherPrefix?: boolean; event: ServerLogEvent | null } {
  const none = { form: false, event: null };
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      return none;
    }
    const time = o['@timestamp'];
    const msg = o['@message'];
    if (typeof time !== 'string' || typeof msg !== 'string') return none;
    const timeKey = toTimeKey(time);
    if (!timeKey) return none;
    const module = typeof o['@module'] === 'string' ? `${o['@module'] as string}: ` : '';
    const c = classify(`${module}${msg}`, o) ?? classify(msg, o);
    return { form: true, event: c ? { time, timeKey, kind: c.kind, leaseId: c.leaseId, message: `${module}${msg}` } : null };
  }
  const m = TEXT_LINE.exec(trimmed);
  if (!m) return BEHIND_OTHER_PREFIX.test(trimmed) ? { form: false, otherPrefix: true, event: null } : none;
  const timeKey = toTimeKey(m[1]!);
  if (!timeKey) return none;
  const c = classify(m[3]!);
  return { form: true, event: c ? { time: m[1]!, timeKey, kind: c.kind, leaseId: c.leaseId, message: m[3]!.slice(0, 2000) } : null };
}

const NL = Buffer.from('\n');

export async function ingestServerLogs(handle: KeytrailDb, paths: string[], opts: ServerLogIngestOptions = {}): Promise<ServerLogIngestSummary> {
  const startedAt = performance.now();
  const store = new IngestStore(handle);
  const totals = { lines: 0, bytes: 0, stored: 0, ignored: 0, quarantined: 0 };
  const touched = new Set<string>();

  const readOne = async (path: string, fingerprint: string, gzip: boolean, start: number, lines: number) => {
    const device = `server-log:${stripRotation(basename(path))}`;
    const src = { device, source: 'server-log' as const, fileFingerprint: fingerprint, filePath: path };
    let chunks: Buffer[] = [];
    let chunkBytes = 0;
    let events: ServerEventRecord[] = [];
    let quarantined: QuarantineRecord[] = [];
    let lineCount = 0;
    let ignored = 0;
    let batchStart = start;
    let hash = createHash('sha256');
    let exact = true;
    /** Lines of this read in one of the server log's forms, whether keytrail keeps them or not. */
    let linesInForm = 0;
    /** Lines of that form behind a prefix keytrail does not read. */
    let linesBehindPrefix = 0;
    let linesRead = 0;
    const commit = (endOffset: number) => {
      if (lineCount === 0) return;
      const stored = Buffer.concat(chunks, chunkBytes);
      const sha256 = hash.digest('hex');
      const batch: PreparedBatch = {
        startOffset: batchStart,
        endOffset,
        lineCount,
        sha256,
        storedSha256: exact ? sha256 : createHash('sha256').update(stored).digest('hex'),
        stored,
        rows: emptyPackedRows(),
        quarantined,
        redacted: false,
        logRawDetected: false,
        firstTimeKey: events.reduce<string | null>((a, e) => (a === null || e.time_key < a ? e.time_key : a), null),
        lastTimeKey: events.reduce<string | null>((a, e) => (a === null || e.time_key > a ? e.time_key : a), null),
      };
      lines += lineCount;
      linesRead += lineCount;
      store.commitServerLog(src, batch, events, { fingerprint, kind: 'server-log', device, path, offset: endOffset, lines, complete: 0 });
      touched.add(fingerprint);
      totals.lines += lineCount;
      totals.bytes += endOffset - batchStart;
      totals.stored += events.length;
      totals.ignored += ignored;
      totals.quarantined += quarantined.length;
      chunks = [];
      chunkBytes = 0;
      events = [];
      quarantined = [];
      lineCount = 0;
      ignored = 0;
      batchStart = endOffset;
      hash = createHash('sha256');
      exact = true;
    };
    /** A line read (complete, or the unfinished end of a compressed rotation): an event, or ignored. */
    const take = (text: string, offset: number) => {
      lineCount++;
      const { form, otherPrefix, event: ev } = readServerLogLine(text);
      if (form) linesInForm++;
      if (otherPrefix) linesBehindPrefix++;
      if (ev) events.push({ time: ev.time, time_key: ev.timeKey, kind: ev.kind, lease_id: ev.leaseId, message: ev.message, byte_offset: offset });
      else ignored++;
    };
    const splitter = new LineSplitter(
      {
        line: (source, start, end, offset) => {
          const copy = Buffer.copyBytesFrom(source, start, end - start);
          chunks.push(copy, NL);
          chunkBytes += copy.length + 1;
          hash.update(copy).update(NL);
          take(copy.toString('utf8'), offset);
        },
        oversizedPiece: (piece) => hash.update(piece),
        oversized: (offset, length) => {
          hash.update(NL);
          exact = false;
          lineCount++;
          quarantined.push({ offset, length, reason: 'oversized', detail: `line of ${length} bytes exceeds the 16 MiB limit`, excerpt: null });
        },
      },
      start,
    );
    let source: AsyncIterable<Buffer>;
    let toSkip = 0;
    if (gzip) {
      source = createReadStream(path).pipe(createGunzip());
      toSkip = start;
    } else {
      source = createReadStream(path, { start, highWaterMark: 1 << 20 });
    }
    for await (let chunk of source) {
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      splitter.push(chunk);
      if (lineCount >= 5000) commit(splitter.lineStart);
    }
    if (gzip && splitter.unfinishedLength > 0) {
      // The last line of a compressed rotation can never be completed: count it as ignored text.
      const tail = splitter.unfinished() ?? Buffer.alloc(0);
      chunks.push(tail);
      chunkBytes += tail.length;
      hash.update(tail);
      take(tail.toString('utf8'), splitter.lineStart);
      splitter.dropUnfinished();
    }
    commit(splitter.lineStart);
    if (gzip) store.saveCheckpoint({ fingerprint, kind: 'server-log', device, path, offset: splitter.lineStart, lines, complete: 1 });
    if (linesBehindPrefix > 0) {
      opts.logger?.warn(
        { file: path, lines: linesBehindPrefix },
        'lines of Vault\'s server log behind a prefix keytrail does not read (syslog\'s date and host?) were ignored: give keytrail the log without it (journalctl -u vault -o cat, or Vault\'s own log file); only a `name[pid]: ` prefix is read',
      );
    } else if (linesRead > 0 && linesInForm === 0) {
      opts.logger?.warn(
        { file: path, lines: linesRead },
        'no line of this file looks like a Vault server log line (`2026-03-02T08:00:00.000Z [INFO]  module: message`, or JSON with log_format=json), so all were counted as ignored: is it an audit log (ingest vault) or another program\'s log?',
      );
    }
  };

  const scan = async () => {
    const { files, missing } = expandInputs(paths, 'server-log');
    if (missing.length && !opts.follow) throw new KeytrailError(`no such file or directory: ${missing.join(', ')}`);
    for (const f of files) {
      if (opts.signal?.aborted) return;
      const head = await readFileHead(f.path).catch(() => null);
      if (!head?.fingerprint) continue;
      const cp = store.file(head.fingerprint);
      if (cp?.complete || (f.onlyIfKnown && !cp)) continue;
      let start = cp ? Number(cp.offset) : 0;
      if (!head.gzip && head.size < start) start = 0;
      if (!head.gzip && head.size === start) continue;
      await readOne(f.path, head.fingerprint, head.gzip, start, Number(cp?.lines ?? 0));
    }
  };

  await scan();
  if (opts.follow) await watchForChanges(watchTargets(paths), opts.pollMs ?? 1000, opts.signal, scan);
  const seconds = (performance.now() - startedAt) / 1000;
  return { files: touched.size, ...totals, rate: seconds > 0 ? Math.round(totals.lines / seconds) : totals.lines };
}
