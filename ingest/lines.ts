/**
 * Splits a byte stream into newline-terminated lines without ever holding more than the line limit of one
 * line: an over-long line is passed on in pieces and reported once its newline arrives, with the SHA-256 of its
 * bytes (they are not kept). A trailing fragment without a newline is an unfinished line (Vault may still be
 * writing it) and is kept pending, not emitted.
 */
import { createHash, type Hash } from 'node:crypto';

/** CONTRACT.md: a line over 16 MiB (newline excluded) is quarantined as `oversized`. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface LineSink {
  /**
   * A complete line (newline excluded) starting at `offset`: `source[start, end)`, valid only during the call.
   * A range, not a view: a Buffer view a line cost the parse worker ~0.3 µs with the garbage it left.
   */
  line(source: Buffer, start: number, end: number, offset: number): void;
  /** A piece of an over-long line, in order (for hashing); not kept. */
  oversizedPiece?(bytes: Buffer): void;
  /** An over-long line ended at its newline; `sha256` is the hex SHA-256 of its bytes. */
  oversized(offset: number, length: number, sha256: string): void;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private skipping = false;
  private skippedLength = 0;
  /** The SHA-256 of the over-long line whose pieces have been passed on. */
  private longLine: Hash | null = null;
  /** Absolute offset of the first byte after the last complete line. */
  lineStart: number;

  constructor(
    private readonly sink: LineSink,
    startOffset = 0,
    private readonly maxLine = MAX_LINE_BYTES,
  ) {
    this.lineStart = startOffset;
  }

  /** Bytes of the unfinished last line held (or skipped) so far. */
  get unfinishedLength(): number {
    return this.skipping ? this.skippedLength : this.pendingLength;
  }

  /** Whether an over-long line has begun (its pieces are being passed on) and not ended yet. */
  get inOversizedLine(): boolean {
    return this.skipping;
  }

  /** The SHA-256 of the unfinished over-long line's bytes so far (for a final `oversized` verdict), else null. */
  unfinishedOversizedSha256(): string | null {
    return this.skipping ? this.longLineSha256() : null;
  }

  /** The unfinished last line, when it is not over-long (for a final `torn` verdict). */
  unfinished(): Buffer | null {
    if (this.skipping || this.pendingLength === 0) return null;
    return Buffer.concat(this.pending, this.pendingLength);
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) {
        if (start < chunk.length) this.hold(chunk.subarray(start));
        return;
      }
      const length = nl - start;
      if (this.skipping) {
        this.piece(chunk.subarray(start, nl));
        this.sink.oversized(this.lineStart, this.skippedLength + length, this.longLineSha256());
        this.skipping = false;
        this.skippedLength = 0;
      } else if (this.pendingLength > 0) {
        const piece = chunk.subarray(start, nl);
        const total = this.pendingLength + length;
        if (total > this.maxLine) {
          for (const p of this.pending) this.piece(p);
          this.piece(piece);
          this.sink.oversized(this.lineStart, total, this.longLineSha256());
        } else {
          this.sink.line(Buffer.concat([...this.pending, piece], total), 0, total, this.lineStart);
        }
        this.pending = [];
        this.pendingLength = 0;
      } else if (length > this.maxLine) {
        this.piece(chunk.subarray(start, nl));
        this.sink.oversized(this.lineStart, length, this.longLineSha256());
      } else {
        this.sink.line(chunk, start, nl, this.lineStart);
      }
      this.lineStart += this.lineLengthJustEnded(length);
      start = nl + 1;
    }
  }

  /** Forgets the unfinished line (after it was accounted for as torn). */
  dropUnfinished(): void {
    this.lineStart += this.endedLength;
    this.endedLength = 0;
    this.pending = [];
    this.pendingLength = 0;
    this.skipping = false;
    this.skippedLength = 0;
    this.longLine = null;
  }

  /** A piece of an over-long line: hashed here, and passed on. */
  private piece(bytes: Buffer): void {
    (this.longLine ??= createHash('sha256')).update(bytes);
    this.sink.oversizedPiece?.(bytes);
  }

  private longLineSha256(): string {
    const sha256 = (this.longLine ?? createHash('sha256')).digest('hex');
    this.longLine = null;
    return sha256;
  }

  private endedLength = 0;
  private lineLengthJustEnded(lastPiece: number): number {
    const n = this.endedLength + lastPiece + 1;
    this.endedLength = 0;
    return n;
  }

  private hold(rest: Buffer): void {
    if (this.skipping) {
      this.piece(rest);
      this.skippedLength += rest.length;
      this.endedLength += rest.length;
      return;
    }
    // Copied: the reader reuses its read buffer for the next chunk.
    this.pending.push(Buffer.from(rest));
    this.pendingLength += rest.length;
    this.endedLength += rest.length;
    if (this.pendingLength > this.maxLine) {
      for (const p of this.pending) this.piece(p);
      this.skipping = true;
      this.skippedLength = this.pendingLength;
      this.pending = [];
      this.pendingLength = 0;
    }
  }
}
