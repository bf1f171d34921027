/**
 * Builds one ingest batch from consecutive lines: parsed and normalised entries, quarantined lines, the
 * stored bytes (the exact bytes, or the redacted lines of a `log_raw` device; compressed by sealBatch), and
 * the SHA-256 of the original and of the stored bytes. Pure computation, no database: it runs in the parse worker
 * for files and inline for sockets.
 */
import { createHash, type Hash } from 'node:crypto';
import { jsonStart, parseAuditLine, type QuarantineReason } from './parse.js';
import { AuditLineScanner } from './line-scanner.js';
import { normaliseEntry } from './normalize.js';
import { looksLogRaw, maskTokens, Redactor } from './redact.js';
import { PackedRowsWriter, recycleRows, transferList, type PackedRows, type RowArrays } from './packed-rows.js';
import { compressBatchBytes, type CompressedBatchBytes } from '../db/batch-bytes.js';

export interface QuarantineRecord {
  /** Absolute byte offset in the source (file offset, or the socket stream offset). */
  offset: number;
  length: number;
  reason: QuarantineReason;
  detail: string | null;
  excerpt: string | null;
}

export interface PreparedBatch {
  startOffset: number;
  endOffset: number;
  lineCount: number;
  /**
   * SHA-256 of the bytes read and of the bytes stored. Null when the stored bytes are exactly the bytes read
   * (no redaction, no oversized or torn line): one hash of `stored` is then both, taken by sealBatch or by the
   * store, whichever thread has the time.
   */
  sha256: string | null;
  storedSha256: string | null;
  /**
   * The stored bytes, uncompressed, in a buffer of their own (never a slice of Node's shared pool, so a worker
   * can transfer it). Once committed, recycleLineBuffer hands the buffer to a later batch of the thread that
   * built it.
   */
  stored: Uint8Array;
  /**
   * `stored` compressed for `ingest_batches.raw_bytes`, when the thread that built the batch had the time to
   * (sealBatch); else the store compresses them.
   */
  compressed?: CompressedBatchBytes;
  /** The stored and duplicate entries: normalised values, HMACs and the line's place in the stored bytes. */
  rows: PackedRows;
  quarantined: QuarantineRecord[];
  /** The stored bytes are redacted (the device is, or was found to be, log_raw). */
  redacted: boolean;
  /** A clear token was seen in this batch. */
  logRawDetected: boolean;
  firstTimeKey: string | null;
  lastTimeKey: string | null;
}

/**
 * Hashes and compresses a batch on the thread that built it, leaving the store only its rows to write. The parse
 * worker does this for a batch when the writer is batches behind, and leaves it to the writer when the writer
 * waits for batches: whichever thread has the time does it.
 */
export function sealBatch(batch: PreparedBatch): void {
  if (batch.sha256 === null) {
    batch.sha256 = createHash('sha256').update(batch.stored).digest('hex');
    batch.storedSha256 = batch.sha256;
  }
  batch.compressed ??= compressBatchBytes(batch.stored);
}

export interface BatchOptions {
  prefix: string | null;
  /** The device is already known to be log_raw. */
  logRaw: boolean;
  /** Returns the keyed-hash redactor (the key is created on first need). */
  redactor: () => Redactor;
  maxLines?: number;
  maxBytes?: number;
}

/**
 * Line buffers of committed batches, for the next batches built on this thread. Without them each batch
 * allocated ~2 MB that stayed allocated until V8 collected its old generation.
 */
const lineBuffers: Buffer[] = [];
const MAX_LINE_BUFFERS = 2;
/** A buffer grown for lines of many MiB is not kept for the batches after it. */
const MAX_POOLED_BYTES = 8 * 1024 * 1024;

/** A committed batch's stored bytes: their buffer is free for a later batch of this thread. */
export function recycleLineBuffer(stored: Uint8Array): void {
  const size = stored.buffer.byteLength;
  if (lineBuffers.length < MAX_LINE_BUFFERS && size > 0 && size <= MAX_POOLED_BYTES) lineBuffers.push(Buffer.from(stored.buffer as ArrayBuffer));
}

/** A committed batch's buffers (line buffer and row arrays) are free for a later batch of this thread. */
export function recycleBatch(batch: { stored: Uint8Array; rows: RowArrays }): void {
  recycleLineBuffer(batch.stored);
  recycleRows(batch.rows);
}

/** What crosses between threads without a copy with a batch (and comes back with its ack): rows and stored bytes. */
export function batchTransferList(batch: PreparedBatch): ArrayBuffer[] {
  return [...transferList(batch.rows), batch.stored.buffer as ArrayBuffer];
}

/** A line buffer of at least `size` bytes with its own memory (allocUnsafe may slice a shared pool). */
function lineBuffer(size: number): Buffer {
  const i = lineBuffers.findIndex((b) => b.length >= size);
  return i === -1 ? Buffer.allocUnsafeSlow(size) : lineBuffers.splice(i, 1)[0]!;
}

/** Item kinds, by their row slot: a row index (>= 0) for an entry, or one of these. */
const QUARANTINED_WITH_BYTES = -1;
const QUARANTINED_WITHOUT_BYTES = -2;

const NL = Buffer.from('\n');
/** One per thread: a line is scanned and packed before the next. */
const scanner = new AuditLineScanner();
const NL_BYTE = 0x0a;
const EXCERPT_BYTES = 200;

export class BatchBuilder {
  // The batch's lines are appended, each with its newline, to one growing buffer: the stored bytes are then
  // that buffer as is (no concatenation), hashed in bulk, and the batch keeps numbers per line instead of a
  // Buffer view per line (those views outlived young-generation collections and cost the worker GC time).
  private raw: Buffer;
  private rawLength = 0;
  /** raw[0, hashedUpTo) is in `hash` (lines are hashed in bulk, as late as the order of bytes allows). */
  private hashedUpTo = 0;
  /** Per item: its start and length in `raw` (line without newline) and its row or quarantine kind. */
  private readonly itemStart: number[] = [];
  private readonly itemLength: number[] = [];
  private readonly itemRow: number[] = [];
  private readonly quarantined: QuarantineRecord[] = [];
  /** The redacted line that replaces an item's bytes when the device is log_raw. */
  private readonly redacted = new Map<number, Buffer>();
  private readonly rows: PackedRowsWriter;
  private firstTimeKey: string | null = null;
  private lastTimeKey: string | null = null;
  private bytes = 0;
  private hash: Hash = createHash('sha256');
  /** The hash before the pieces of an over-long line that has not ended yet. */
  private hashBeforePieces: Hash | null = null;
  private exact = true;
  private logRaw: boolean;
  private detectedHere = false;
  private readonly prefix: Buffer | null;
  readonly maxLines: number;
  readonly maxBytes: number;
  startOffset: number;
  endOffset: number;

  constructor(
    private readonly opts: BatchOptions,
    startOffset: number,
  ) {
    this.prefix = opts.prefix ? Buffer.from(opts.prefix) : null;
    this.logRaw = opts.logRaw;
    this.maxLines = opts.maxLines ?? 2000;
    this.maxBytes = opts.maxBytes ?? 2 * 1024 * 1024;
    this.rows = new PackedRowsWriter(Math.min(this.maxLines, 4096));
    // A batch ends at the first line that reaches maxBytes: room for that line's usual size as well.
    this.raw = lineBuffer(Math.min(this.maxBytes, 64 * 1024 * 1024) + 64 * 1024);
    this.startOffset = startOffset;
    this.endOffset = startOffset;
  }

  get lineCount(): number {
    return this.itemRow.length;
  }

  get full(): boolean {
    return this.itemRow.length >= this.maxLines || this.bytes >= this.maxBytes;
  }

  /** Whether the device turned out to be log_raw (carried to the next batch). */
  get deviceLogRaw(): boolean {
    return this.logRaw;
  }

  /** A complete line (newline excluded) at absolute `offset`; `bytes` is copied. */
  addLine(lineBytes: Buffer, offset: number): void {
    this.addLineFrom(lineBytes, 0, lineBytes.length, offset);
  }

  /** A complete line, `source[from, to)` (newline excluded), at absolute `offset`; it is copied. */
  addLineFrom(source: Buffer, from: number, to: number, offset: number): void {
    const lineLength = to - from;
    const start = this.append(source, from, to);
    this.bytes += lineLength + 1;
    this.endOffset = offset + lineLength + 1;
    const item = this.itemRow.length;
    // The plain form Vault writes is read from the bytes (line-scanner.ts); anything else, and every line of a
    // log_raw device (redacted from its parsed entry), is parsed.
    if (!this.logRaw) {
      const at = jsonStart(this.raw, this.prefix, start, start + lineLength);
      if (at >= 0 && scanner.scan(this.raw, at, start + lineLength)) {
        this.pushItem(start, lineLength, this.rows.addScanned(this.raw, scanner.cells));
        this.noteTimeKey(scanner.timeKey);
        return;
      }
    }
    const parsed = parseAuditLine(this.raw, this.prefix, start, start + lineLength);
    if (!parsed.ok) {
      this.pushItem(start, lineLength, QUARANTINED_WITH_BYTES);
      this.quarantined.push(this.quarantineRecord(this.raw.subarray(start, start + lineLength), offset, parsed.reason, parsed.detail));
      return;
    }
    if (!this.logRaw && looksLogRaw(parsed.entry)) {
      this.logRaw = true;
      this.detectedHere = true;
      this.redactEarlierLines();
    }
    if (this.logRaw) {
      this.opts.redactor().redactEntry(parsed.entry);
      this.redacted.set(item, Buffer.from(JSON.stringify(parsed.entry)));
    }
    const { entry, hmacs } = normaliseEntry(parsed.entry, parsed.requestId, parsed.type, parsed.time, parsed.timeKey);
    // Packed at once: only the batch's distinct strings outlive this line.
    this.pushItem(start, lineLength, this.rows.add(entry, hmacs));
    this.noteTimeKey(parsed.timeKey);
  }

  private noteTimeKey(k: string): void {
    if (this.firstTimeKey === null || k < this.firstTimeKey) this.firstTimeKey = k;
    if (this.lastTimeKey === null || k > this.lastTimeKey) this.lastTimeKey = k;
  }

  /** A piece of an over-long line: hashed, never kept. */
  addOversizedPiece(piece: Buffer): void {
    this.hashStoredBytes();
    // The line may still be unfinished when the batch ends (the end of a file being written): its pieces then
    // belong to the batch that will hold the whole line, not to this one.
    this.hashBeforePieces ??= this.hash.copy();
    this.hash.update(piece);
  }

  /**
   * An over-long line, after its pieces. `terminated` is false for one that never got its newline (the end of
   * a gzipped rotation, a closed connection): the newline is then neither counted nor hashed. Its bytes are not
   * kept: their SHA-256 (the line splitter's) is in its quarantine record.
   */
  addOversized(offset: number, length: number, terminated = true, sha256: string | null = null): void {
    this.hashStoredBytes();
    this.hashBeforePieces = null;
    if (terminated) this.hash.update(NL);
    this.exact = false;
    const consumed = terminated ? length + 1 : length;
    this.bytes += consumed;
    this.endOffset = offset + consumed;
    this.pushItem(0, 0, QUARANTINED_WITHOUT_BYTES);
    const detail = `line of ${length} bytes exceeds the 16 MiB limit${sha256 ? `; SHA-256 of its bytes: ${sha256}` : ''}`;
    this.quarantined.push({ offset, length, reason: 'oversized', detail, excerpt: null });
  }

  /** An unfinished line that will never be completed (a rotated-away file, a closed connection). */
  addTorn(lineBytes: Buffer, offset: number): void {
    this.hashStoredBytes();
    this.hash.update(lineBytes);
    const start = this.append(lineBytes, 0, lineBytes.length);
    this.hashedUpTo = this.rawLength; // stored with a newline it never had: that newline is not hashed
    this.exact = false;
    this.bytes += lineBytes.length;
    this.endOffset = offset + lineBytes.length;
    this.pushItem(start, lineBytes.length, QUARANTINED_WITH_BYTES);
    const bytes = this.raw.subarray(start, start + lineBytes.length);
    this.quarantined.push(this.quarantineRecord(bytes, offset, 'torn', 'unfinished line at the end of a closed source', bytes.length));
  }

  private pushItem(start: number, length: number, row: number): void {
    this.itemStart.push(start);
    this.itemLength.push(length);
    this.itemRow.push(row);
  }

  /** Copies a line, `source[from, to)`, and its newline to the end of the stored bytes; returns where the line starts. */
  private append(source: Buffer, from: number, to: number): number {
    const need = this.rawLength + (to - from) + 1;
    if (need > this.raw.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.raw.length * 2));
      this.raw.copy(grown, 0, 0, this.rawLength);
      this.raw = grown;
    }
    const start = this.rawLength;
    source.copy(this.raw, start, from, to);
    this.raw[start + (to - from)] = NL_BYTE;
    this.rawLength = need;
    return start;
  }

  /** Brings the hash of the original bytes up to the end of the stored bytes. */
  private hashStoredBytes(): void {
    if (this.hashedUpTo < this.rawLength) this.hash.update(this.raw.subarray(this.hashedUpTo, this.rawLength));
    this.hashedUpTo = this.rawLength;
  }

  private quarantineRecord(bytes: Buffer, offset: number, reason: QuarantineReason, detail: string, length = bytes.length): QuarantineRecord {
    const excerpt = bytes.length === 0 ? null : maskTokens(bytes.toString('utf8', 0, Math.min(bytes.length, EXCERPT_BYTES)));
    return { offset, length, reason, detail, excerpt };
  }

  private lineOf(item: number): Buffer {
    const start = this.itemStart[item]!;
    return this.raw.subarray(start, start + this.itemLength[item]!);
  }

  /** The device proved to be log_raw mid-batch: earlier lines of the batch are redacted too. */
  private redactEarlierLines(): void {
    const redactor = this.opts.redactor();
    for (let item = 0; item < this.itemRow.length; item++) {
      const row = this.itemRow[item]!;
      if (row < 0) continue;
      const parsed = parseAuditLine(this.lineOf(item), this.prefix);
      if (!parsed.ok) continue;
      redactor.redactEntry(parsed.entry);
      this.redacted.set(item, Buffer.from(JSON.stringify(parsed.entry)));
      const { entry, hmacs } = normaliseEntry(parsed.entry, parsed.requestId, parsed.type, parsed.time, parsed.timeKey);
      this.rows.set(row, entry, hmacs);
    }
  }

  /** The bytes kept for the batch: the lines as read, or with every line redacted for a log_raw device. */
  private storedBytes(): Buffer {
    if (!this.logRaw) {
      for (let item = 0; item < this.itemRow.length; item++) {
        const row = this.itemRow[item]!;
        if (row >= 0) this.rows.setLine(row, this.itemStart[item]!, this.itemLength[item]!);
      }
      return this.raw.subarray(0, this.rawLength);
    }
    const redactor = this.opts.redactor();
    const chunks: Buffer[] = [];
    let pos = 0;
    for (let item = 0; item < this.itemRow.length; item++) {
      const row = this.itemRow[item]!;
      if (row === QUARANTINED_WITHOUT_BYTES) continue;
      const line = row >= 0 ? (this.redacted.get(item) ?? this.lineOf(item)) : Buffer.from(redactor.redactText(this.lineOf(item).toString('utf8')));
      if (row >= 0) this.rows.setLine(row, pos, line.length);
      chunks.push(line, NL);
      pos += line.length + 1;
    }
    // In a line buffer like any batch's, so that recycling it serves later batches (a copy of its own size
    // would be too small for them and fill the pool).
    const stored = lineBuffer(Math.max(pos, this.raw.length));
    let at = 0;
    for (const chunk of chunks) at += chunk.copy(stored, at);
    // The line buffer is no longer referred to: the redacted bytes are a copy.
    recycleLineBuffer(this.raw);
    return stored.subarray(0, pos);
  }

  finish(): PreparedBatch {
    // Pieces of a line that is still unfinished are not part of this batch.
    if (this.hashBeforePieces) {
      this.hash = this.hashBeforePieces;
      this.hashBeforePieces = null;
    }
    // Exact bytes (no redaction, no over-long or torn line) are hashed later, once for both hashes: by sealBatch
    // or by the store, whichever thread has the time.
    const storeHashes = this.exact && !this.logRaw;
    if (!storeHashes) this.hashStoredBytes();
    const stored = this.storedBytes();
    // Otherwise the stored bytes differ from the bytes read (redacted, or without an over-long or torn line).
    const sha256 = storeHashes ? null : this.hash.digest('hex');
    const storedSha256 = storeHashes ? null : createHash('sha256').update(stored).digest('hex');
    return {
      startOffset: this.startOffset,
      endOffset: this.endOffset,
      lineCount: this.itemRow.length,
      sha256,
      storedSha256,
      stored,
      rows: this.rows.finish(),
      quarantined: this.quarantined,
      redacted: this.logRaw,
      logRawDetected: this.detectedHere,
      firstTimeKey: this.firstTimeKey,
      lastTimeKey: this.lastTimeKey,
    };
  }
}
