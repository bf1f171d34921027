/**
 * Splits a byte stream into newline-terminated lines without ever holding more than the line limit of one
 * line: an over-long line is passed on in pieces and reported once its newline arrives. A trailing fragment
 * without a newline is an unfinished line (Vault may still be writing it) and is kept pending, not emitted.
 */

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
  /** An over-long line ended at its newline. */
  oversized(offset: number, length: number): void;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private skipping = false;
  private skippedLength = 0;
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
        this.sink.oversizedPiece?.(chunk.subarray(start, nl));
        this.sink.oversized(this.lineStart, this.skippedLength + length);
        this.skipping = false;
        this.skippedLength = 0;
      } else if (this.pendingLength > 0) {
        const piece = chunk.subarray(start, nl);
        const total = this.pendingLength + length;
        if (total > this.maxLine) {
          for (const p of this.pending) this.sink.oversizedPiece?.(p);
          this.sink.oversizedPiece?.(piece);
          this.sink.oversized(this.lineStart, total);
        } else {
          this.sink.line(Buffer.concat([...this.pending, piece], total), 0, total, this.lineStart);
        }
        this.pending = [];
        this.pendingLength = 0;
      } else if (length > this.maxLine) {
        this.sink.oversizedPiece?.(chunk.subarray(start, nl));
        this.sink.oversized(this.lineStart, length);
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
  }

  private endedLength = 0;
  private lineLengthJustEnded(lastPiece: number): number {
    const n = this.endedLength + lastPiece + 1;
    this.endedLength = 0;
    return n;
  }

  private hold(rest: Buffer): void {
    if (this.skipping) {
      this.sink.oversizedPiece?.(rest);
      this.skippedLength += rest.length;
      this.endedLength += rest.length;
      return;
    }
    // Copied: the reader reuses its read buffer for the next chunk.
    this.pending.push(Buffer.from(rest));
    this.pendingLength += rest.length;
    this.endedLength += rest.length;
    if (this.pendingLength > this.maxLine) {
      for (const p of this.pending) this.sink.oversizedPiece?.(p);
      this.skipping = true;
      this.skippedLength = this.pendingLength;
      this.pending = [];
      this.pendingLength = 0;
    }
  }
}
