/**
 * A batch's rows, packed as they are parsed: typed arrays only. Each value is a kind (null, number, string) and a
 * cell (the number, or the index of a string), and the strings are UTF-8 bytes in one buffer. Packing each line as
 * soon as it is normalised keeps the parse worker's heap small: nothing of a line outlives it. (A table of JS
 * strings lived until the batch was posted: ~400 bytes a line survived young-generation collections and were
 * promoted, and the worker spent ~20% of its time collecting them.) All four arrays are transferred to the
 * writer without copying and come back with its ack. Values repeat heavily within a batch (type, paths, mounts,
 * policies, metadata, a job's token HMACs; a request and its response share id): a column's recent values are
 * written once. The writer binds values straight from the arrays, a string as a view of its bytes.
 */
import { COPY_HMAC_COLUMNS, ENTRY_COLUMNS } from './normalize.js';

export const ENTRY_WIDTH = ENTRY_COLUMNS.length;
export const HMAC_WIDTH = COPY_HMAC_COLUMNS.length;
/** entry values, HMAC values, line offset, line length. */
export const ROW_WIDTH = ENTRY_WIDTH + HMAC_WIDTH + 2;
const LINE_OFFSET = ENTRY_WIDTH + HMAC_WIDTH;

const NULL = 0;
const STRING = 1;
const NUMBER = 2;
/** Positions of time and time key in the entry values (normaliseEntry): (nearly) unique per line. */
const TIME = ENTRY_COLUMNS.indexOf('time');
const TIME_KEY = ENTRY_COLUMNS.indexOf('time_key');
/**
 * Distinct values remembered per column. Lines of a few concurrent jobs interleave, and each job repeats its
 * own token HMACs, policies and metadata: a few recent values catch those repeats, by comparing strings
 * (a map would hash every new string, and keep every one alive until the batch is posted).
 */
const RECENT = 4;

/** How a scanned line (line-scanner.ts) gives each value: a cell of its own, or a range of the line's bytes. */
export const CELL_NULL = 0;
export const CELL_RANGE = 1;
export const CELL_NUMBER = 2;
export const CELL_STRING = 3;

/** One scanned line's values, entry values then HMACs (ROW_WIDTH - 2 of them), by kind. */
export interface ScannedCells {
  kinds: Uint8Array;
  /** A CELL_RANGE value is the ASCII text `source[start, end)`. */
  starts: Int32Array;
  ends: Int32Array;
  numbers: Float64Array;
  strings: (string | null)[];
}

/**
 * Whether `a[aAt, aAt + length)` and `b[bAt, …)` hold the same bytes, compared 4 at a time (DataView reads are
 * compiled inline: ~0.6 ns a byte, against 1-2 ns one byte at a time and ~140 ns for Buffer#compare's call). The
 * last 4 bytes first: HMACs share their first 12 (`hmac-sha256:`).
 */
function sameBytes(a: DataView, aAt: number, b: DataView, bAt: number, length: number): boolean {
  if (length >= 4 && a.getInt32(aAt + length - 4) !== b.getInt32(bAt + length - 4)) return false;
  let j = 0;
  for (; j + 4 <= length; j += 4) if (a.getInt32(aAt + j) !== b.getInt32(bAt + j)) return false;
  for (; j < length; j++) if (a.getUint8(aAt + j) !== b.getUint8(bAt + j)) return false;
  return true;
}

/** Copies `length` bytes from `from[fromAt]` to `to[toAt]`, 4 at a time (see sameBytes). */
function copyBytes(from: DataView, fromAt: number, to: DataView, toAt: number, length: number): void {
  let j = 0;
  for (; j + 4 <= length; j += 4) to.setInt32(toAt + j, from.getInt32(fromAt + j));
  for (; j < length; j++) to.setUint8(toAt + j, from.getUint8(fromAt + j));
}

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export interface PackedRows {
  count: number;
  kinds: Uint8Array;
  /** A number's value, or a string's index. */
  cells: Float64Array;
  /** UTF-8 bytes of the batch's strings, one after the other. */
  text: Uint8Array;
  /** Where each string ends in `text` (string i starts where string i - 1 ends). */
  ends: Uint32Array;
  stringCount: number;
}

/** One row's values: entry values in ENTRY_COLUMNS order, HMACs in COPY_HMAC_COLUMNS order (rowsOf). */
export interface RowView {
  entry: unknown[];
  hmacs: unknown[];
  lineOffset: number;
  lineLength: number;
}

export class PackedRowsWriter {
  private kinds: Uint8Array;
  private cells: Float64Array;
  private text: Buffer;
  /** `text`, and the last source of scanned lines, as DataViews (sameBytes, copyBytes). */
  private textView: DataView;
  private source: Uint8Array | null = null;
  private sourceView: DataView = viewOf(new Uint8Array(0));
  private ends: Uint32Array;
  private textLength = 0;
  private strings = 0;
  /** A column's recent distinct values and their string indexes, written round-robin. */
  private readonly recent = new Array<string | null>(ROW_WIDTH * RECENT).fill(null);
  /** -1: an empty slot. A slot filled from bytes (addScanned) has no string in `recent`. */
  private readonly recentIndex = new Float64Array(ROW_WIDTH * RECENT).fill(-1);
  private readonly recentNext = new Uint8Array(ROW_WIDTH);
  private rows = 0;
  /** The time of the row being packed, and its string index (packed just before its time key). */
  private rowTime: string | null = null;
  private rowTimeIndex = 0;
  /** The time's range when it came from bytes (addScanned). */
  private rowTimeStart = -1;
  private rowTimeEnd = -1;

  constructor(capacity = 256) {
    const spare = capacity > 0 ? takeSpare(capacity * ROW_WIDTH) : undefined;
    this.kinds = spare?.kinds ?? new Uint8Array(capacity * ROW_WIDTH);
    this.cells = spare?.cells ?? new Float64Array(capacity * ROW_WIDTH);
    const text = spare?.text ?? new Uint8Array(capacity * 256);
    this.text = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    this.textView = viewOf(this.text);
    this.ends = spare?.ends ?? new Uint32Array(capacity * 8);
  }

  get count(): number {
    return this.rows;
  }

  /** Appends a row (its line position is set later with setLine); returns its index. */
  add(entry: readonly unknown[], hmacs: readonly unknown[]): number {
    if (this.rows * ROW_WIDTH === this.kinds.length) this.grow();
    const row = this.rows++;
    this.set(row, entry, hmacs);
    return row;
  }

  /** Replaces a row's values (a line normalised again after redaction). */
  set(row: number, entry: readonly unknown[], hmacs: readonly unknown[]): void {
    if (entry.length !== ENTRY_WIDTH || hmacs.length !== HMAC_WIDTH) throw new Error('internal: a normalised entry has the wrong number of values');
    const base = row * ROW_WIDTH;
    for (let c = 0; c < ENTRY_WIDTH; c++) this.put(base + c, c, entry[c]);
    for (let c = 0; c < HMAC_WIDTH; c++) this.put(base + ENTRY_WIDTH + c, ENTRY_WIDTH + c, hmacs[c]);
  }

  /**
   * Appends a scanned line's row (its line position is set later with setLine); returns its index. Strings
   * that are ranges of `source` are compared with the column's recent values and copied as bytes: no JS string
   * is made of them.
   */
  addScanned(source: Uint8Array, cells: ScannedCells): number {
    if (this.rows * ROW_WIDTH === this.kinds.length) this.grow();
    const row = this.rows++;
    const base = row * ROW_WIDTH;
    const { kinds, starts, ends, numbers, strings } = cells;
    if (source !== this.source) {
      this.source = source;
      this.sourceView = viewOf(source);
    }
    for (let c = 0; c < ROW_WIDTH - 2; c++) {
      const k = base + c;
      const kind = kinds[c];
      if (kind === CELL_RANGE) this.putRange(k, c, starts[c]!, ends[c]!);
      else if (kind === CELL_NUMBER) {
        this.kinds[k] = NUMBER;
        this.cells[k] = numbers[c]!;
      } else if (kind === CELL_STRING) this.put(k, c, strings[c]);
      else this.kinds[k] = NULL;
    }
    return row;
  }

  setLine(row: number, offset: number, length: number): void {
    const k = row * ROW_WIDTH + LINE_OFFSET;
    this.kinds[k] = NUMBER;
    this.cells[k] = offset;
    this.kinds[k + 1] = NUMBER;
    this.cells[k + 1] = length;
  }

  /** The packed rows; the writer must not be used afterwards (its arrays are handed over). */
  finish(): PackedRows {
    const text = new Uint8Array(this.text.buffer, this.text.byteOffset, this.text.byteLength);
    return { count: this.rows, kinds: this.kinds, cells: this.cells, text, ends: this.ends, stringCount: this.strings };
  }

  private put(k: number, column: number, v: unknown): void {
    if (v === null || v === undefined) {
      this.kinds[k] = NULL;
      return;
    }
    if (typeof v === 'number') {
      this.kinds[k] = NUMBER;
      this.cells[k] = v;
      return;
    }
    if (typeof v !== 'string') throw new TypeError(`internal: a normalised value is a ${typeof v}, not a string, number or null`);
    this.kinds[k] = STRING;
    if (column === TIME) {
      this.rowTime = v;
      this.rowTimeStart = -1;
      this.rowTimeIndex = this.addString(v);
      this.cells[k] = this.rowTimeIndex;
      return;
    }
    if (column === TIME_KEY) {
      // A time with nine fractional digits is its own key (db/time.ts gives the same string back).
      this.cells[k] = v === this.rowTime ? this.rowTimeIndex : this.addString(v);
      return;
    }
    const first = column * RECENT;
    for (let r = first; r < first + RECENT; r++) {
      if (this.recent[r] === v) {
        this.cells[k] = this.recentIndex[r]!;
        return;
      }
    }
    this.cells[k] = this.remember(column, v, this.addString(v));
  }

  /** A string, `source[start, end)` of the source addScanned was given. */
  private putRange(k: number, column: number, start: number, end: number): void {
    this.kinds[k] = STRING;
    if (column === TIME) {
      this.rowTime = null;
      this.rowTimeStart = start;
      this.rowTimeEnd = end;
      this.rowTimeIndex = this.addBytes(start, end);
      this.cells[k] = this.rowTimeIndex;
      return;
    }
    if (column === TIME_KEY && start === this.rowTimeStart && end === this.rowTimeEnd) {
      this.cells[k] = this.rowTimeIndex;
      return;
    }
    const first = column * RECENT;
    const length = end - start;
    const ends = this.ends;
    for (let r = first; r < first + RECENT; r++) {
      const i = this.recentIndex[r]!;
      if (i < 0) continue;
      const at = i === 0 ? 0 : ends[i - 1]!;
      if (ends[i]! - at === length && sameBytes(this.textView, at, this.sourceView, start, length)) {
        this.cells[k] = i;
        return;
      }
    }
    // No JS string: a parsed line's equal string is not found here (it is packed again; scanned lines are nearly all).
    this.cells[k] = this.remember(column, null, this.addBytes(start, end));
  }

  /** Notes string `index` (whose JS string is `v`, if one was made) as the column's newest recent value. */
  private remember(column: number, v: string | null, index: number): number {
    const slot = column * RECENT + this.recentNext[column]!;
    this.recentNext[column] = (this.recentNext[column]! + 1) % RECENT;
    this.recent[slot] = v;
    this.recentIndex[slot] = index;
    return index;
  }

  private addBytes(start: number, end: number): number {
    const length = end - start;
    if (this.text.length - this.textLength < length) this.growText(this.textLength + length);
    copyBytes(this.sourceView, start, this.textView, this.textLength, length);
    this.textLength += length;
    return this.endString();
  }

  private endString(): number {
    if (this.strings === this.ends.length) {
      const ends = new Uint32Array(Math.max(64, this.ends.length * 2));
      ends.set(this.ends);
      this.ends = ends;
    }
    this.ends[this.strings] = this.textLength;
    return this.strings++;
  }

  private addString(v: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; a long string is measured (a path of many MiB would
    // otherwise grow the buffer by three times its size).
    const room = v.length > 65536 ? Buffer.byteLength(v) : v.length * 3;
    if (this.text.length - this.textLength < room) this.growText(this.textLength + room);
    this.textLength += utf8Write(this.text, v, this.textLength);
    return this.endString();
  }

  private growText(needed: number): void {
    const text = Buffer.allocUnsafeSlow(Math.max(needed, this.text.length * 2));
    this.text.copy(text, 0, 0, this.textLength);
    this.text = text;
    this.textView = viewOf(text);
  }

  private grow(): void {
    const kinds = new Uint8Array(Math.max(ROW_WIDTH, this.kinds.length * 2));
    kinds.set(this.kinds);
    const cells = new Float64Array(kinds.length);
    cells.set(this.cells);
    this.kinds = kinds;
    this.cells = cells;
  }
}

export function emptyPackedRows(): PackedRows {
  return new PackedRowsWriter(0).finish();
}

/**
 * Arrays of committed batches, handed back by the writer for the next batches. Without them each batch
 * allocated ~1 MB that stayed allocated until the writer's V8 collected its old generation (tens of MB
 * outstanding per parse worker).
 */
const spares: RowArrays[] = [];
const MAX_SPARES = 8;
/** A text buffer grown for lines of many MiB is not kept for the batches after it. */
const MAX_SPARE_TEXT_BYTES = 8 * 1024 * 1024;

/** The typed arrays of packed rows (what crosses to the writer and back). */
export type RowArrays = Pick<PackedRows, 'kinds' | 'cells' | 'text' | 'ends'>;

export function recycleRows(arrays: RowArrays): void {
  const { kinds, cells, text, ends } = arrays;
  if (spares.length < MAX_SPARES && kinds.length === cells.length && text.byteLength <= MAX_SPARE_TEXT_BYTES) spares.push({ kinds, cells, text, ends });
}

/**
 * Arrays of at least `length` cells. A batch can run past its line limit by the rest of a read chunk, so the
 * arrays that come back have often grown: taking only arrays of the first capacity found none of them, and
 * every batch allocated new ones.
 */
function takeSpare(length: number): RowArrays | undefined {
  const i = spares.findIndex((s) => s.kinds.length >= length);
  return i === -1 ? undefined : spares.splice(i, 1)[0];
}

/** The buffers to transfer (not copy) when posting packed rows to another thread. */
export function transferList(rows: RowArrays): ArrayBuffer[] {
  return [rows.kinds.buffer, rows.cells.buffer, rows.text.buffer, rows.ends.buffer] as ArrayBuffer[];
}

/**
 * Node's primitive behind `Buffer#write` (present since Node's first releases, not in its typings). A line has
 * ~6 strings to pack: the public method's argument handling cost as much as the copy itself.
 */
interface BufferPrimitives {
  utf8Write?(text: string, offset: number, length: number): number;
}
const primitives = Buffer.prototype as BufferPrimitives;

function utf8Write(buffer: Buffer, text: string, offset: number): number {
  return primitives.utf8Write ? primitives.utf8Write.call(buffer, text, offset, buffer.length - offset) : buffer.write(text, offset);
}

/**
 * Writes each row's values into `args` from position `first`, in packed order (entry values, HMACs, line offset,
 * line length: ROW_WIDTH of them), and calls `visit`. The writer binds `args` as one statement's arguments: no
 * array is built per row.
 *
 * A string is given as a view of its UTF-8 bytes (a Uint8Array, one per distinct string of the batch), not as a
 * JS string: the writer binds it as a blob that its statement casts to TEXT, which stores the same text. Bound
 * as a JS string, each value was decoded here and encoded to UTF-8 again by better-sqlite3 (measure, allocate,
 * copy, then SQLite's own copy): ~1.2 µs a row of the writer's ~20.
 */
export function forEachRowInto(rows: PackedRows, args: unknown[], first: number, visit: () => void): void {
  const { count, kinds, cells, text, ends } = rows;
  const views = new Array<Uint8Array | undefined>(rows.stringCount).fill(undefined);
  const buffer = text.buffer;
  const base = text.byteOffset;
  for (let r = 0, k = 0; r < count; r++) {
    for (let c = first; c < first + ROW_WIDTH; c++, k++) {
      const kind = kinds[k];
      if (kind === STRING) {
        const i = cells[k]!;
        let view = views[i];
        if (view === undefined) {
          const start = i === 0 ? 0 : ends[i - 1]!;
          view = new Uint8Array(buffer, base + start, ends[i]! - start);
          views[i] = view;
        }
        args[c] = view;
      } else {
        args[c] = kind === NUMBER ? cells[k] : null;
      }
    }
    visit();
  }
}

/** A value as forEachRowInto gives it, with a string as a JS string. */
function decoded(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : v;
}

/** Every row as fresh arrays (tests, diagnostics). */
export function rowsOf(rows: PackedRows): RowView[] {
  const out: RowView[] = [];
  const values = new Array<unknown>(ROW_WIDTH);
  forEachRowInto(rows, values, 0, () =>
    out.push({
      entry: values.slice(0, ENTRY_WIDTH).map(decoded),
      hmacs: values.slice(ENTRY_WIDTH, LINE_OFFSET).map(decoded),
      lineOffset: values[LINE_OFFSET] as number,
      lineLength: values[LINE_OFFSET + 1] as number,
    }),
  );
  return out;
}
