/**
 * A batch's rows, packed as they are parsed: typed arrays only. Each value is a kind (null, number, string) and a
 * cell (the number, or the index of a string), and the strings are UTF-8 bytes in one buffer. Packing each line as
 * soon as it is normalised keeps the parse worker's heap small: nothing of a line outlives it. (A table of JS
 * strings lived until the batch was posted: ~400 bytes a line survived young-generation collections and were
 * promoted, and the worker spent ~20% of its time collecting them.) All four arrays are transferred to the
 * writer without copying and come back with its ack. Values repeat heavily within a batch (type, paths, mounts,
 * policies, metadata, a job's token HMACs; a request and its response share id): a column's recent values are
 * written once. The writer binds values straight from the arrays.
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
  /** Every string is ASCII: byte offsets are character offsets. */
  ascii: boolean;
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
  private ends: Uint32Array;
  private textLength = 0;
  private strings = 0;
  private ascii = true;
  /** A column's recent distinct values and their string indexes, written round-robin. */
  private readonly recent = new Array<string | null>(ROW_WIDTH * RECENT).fill(null);
  private readonly recentIndex = new Float64Array(ROW_WIDTH * RECENT);
  private readonly recentNext = new Uint8Array(ROW_WIDTH);
  private rows = 0;

  constructor(capacity = 256) {
    const spare = capacity > 0 ? takeSpare(capacity * ROW_WIDTH) : undefined;
    this.kinds = spare?.kinds ?? new Uint8Array(capacity * ROW_WIDTH);
    this.cells = spare?.cells ?? new Float64Array(capacity * ROW_WIDTH);
    const text = spare?.text ?? new Uint8Array(capacity * 256);
    this.text = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
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
    return { count: this.rows, kinds: this.kinds, cells: this.cells, text, ends: this.ends, stringCount: this.strings, ascii: this.ascii };
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
    if (column === TIME || column === TIME_KEY) {
      this.cells[k] = this.addString(v);
      return;
    }
    const first = column * RECENT;
    for (let r = first; r < first + RECENT; r++) {
      if (this.recent[r] === v) {
        this.cells[k] = this.recentIndex[r]!;
        return;
      }
    }
    const i = this.addString(v);
    const slot = first + this.recentNext[column]!;
    this.recentNext[column] = (this.recentNext[column]! + 1) % RECENT;
    this.recent[slot] = v;
    this.recentIndex[slot] = i;
    this.cells[k] = i;
  }

  private addString(v: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit; a long string is measured (a path of many MiB would
    // otherwise grow the buffer by three times its size).
    const room = v.length > 65536 ? Buffer.byteLength(v) : v.length * 3;
    if (this.text.length - this.textLength < room) this.growText(this.textLength + room);
    const bytes = utf8Write(this.text, v, this.textLength);
    // As many bytes as UTF-16 code units only when every character is ASCII (any other takes two bytes or more).
    if (bytes !== v.length) this.ascii = false;
    this.textLength += bytes;
    if (this.strings === this.ends.length) {
      const ends = new Uint32Array(Math.max(64, this.ends.length * 2));
      ends.set(this.ends);
      this.ends = ends;
    }
    this.ends[this.strings] = this.textLength;
    return this.strings++;
  }

  private growText(needed: number): void {
    const text = Buffer.allocUnsafeSlow(Math.max(needed, this.text.length * 2));
    this.text.copy(text, 0, 0, this.textLength);
    this.text = text;
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
 * Node's primitives behind `Buffer#write` and `Buffer#toString` (present since Node's first releases, not in its
 * typings). A line has ~6 strings to pack and ~25 to bind: the public methods' argument handling cost as much
 * as the copies themselves.
 */
interface BufferPrimitives {
  utf8Write?(text: string, offset: number, length: number): number;
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}
const primitives = Buffer.prototype as BufferPrimitives;

function utf8Write(buffer: Buffer, text: string, offset: number): number {
  return primitives.utf8Write ? primitives.utf8Write.call(buffer, text, offset, buffer.length - offset) : buffer.write(text, offset);
}

function sliceText(buffer: Buffer, encoding: 'latin1' | 'utf8', start: number, end: number): string {
  const slice = encoding === 'latin1' ? primitives.latin1Slice : primitives.utf8Slice;
  return slice ? slice.call(buffer, start, end) : buffer.toString(encoding, start, end);
}

/**
 * An ASCII batch's text is copied into strings a window at a time (one native call), and each string is cut out
 * of its window (substring: no copy). Decoding each string on its own cost ~200 ns a string in native calls.
 * Windows stay well under V8's large-object size: one string of a batch's whole text (~0.5 MB) was a large
 * object that only a full GC frees (+12 MB RSS).
 */
const WINDOW_BYTES = 32 * 1024;

/** Strings of a batch decoded from its UTF-8 bytes, each once, when first bound. */
class StringTable {
  private readonly decoded: (string | undefined)[];
  private readonly bytes: Buffer;
  private window = '';
  private windowStart = 0;
  private windowEnd = 0;

  constructor(private readonly rows: PackedRows) {
    this.bytes = Buffer.from(rows.text.buffer, rows.text.byteOffset, rows.text.byteLength);
    this.decoded = new Array<string | undefined>(rows.stringCount).fill(undefined);
  }

  get(i: number): string {
    let s = this.decoded[i];
    if (s === undefined) {
      s = this.decode(i === 0 ? 0 : this.rows.ends[i - 1]!, this.rows.ends[i]!);
      this.decoded[i] = s;
    }
    return s;
  }

  private decode(start: number, end: number): string {
    if (!this.rows.ascii) return sliceText(this.bytes, 'utf8', start, end);
    // Strings are first bound in the order they were packed, so the window moves forward through the text. A
    // string behind it (a row packed again after redaction) or longer than a window is decoded on its own.
    if (end - start > WINDOW_BYTES || start < this.windowStart) return sliceText(this.bytes, 'latin1', start, end);
    if (end > this.windowEnd) {
      this.windowStart = start;
      this.windowEnd = Math.min(start + WINDOW_BYTES, this.rows.ends[this.rows.stringCount - 1]!);
      this.window = sliceText(this.bytes, 'latin1', this.windowStart, this.windowEnd);
    }
    return this.window.substring(start - this.windowStart, end - this.windowStart);
  }
}

/**
 * Writes each row's values into `args` from position `first`, in packed order (entry values, HMACs, line offset,
 * line length: ROW_WIDTH of them), and calls `visit`. The writer binds `args` as one statement's arguments: no
 * array is built per row.
 */
export function forEachRowInto(rows: PackedRows, args: unknown[], first: number, visit: () => void): void {
  const { count, kinds, cells } = rows;
  const strings = new StringTable(rows);
  for (let r = 0, k = 0; r < count; r++) {
    for (let c = first; c < first + ROW_WIDTH; c++, k++) {
      const kind = kinds[k];
      args[c] = kind === STRING ? strings.get(cells[k]!) : kind === NUMBER ? cells[k] : null;
    }
    visit();
  }
}

/** Every row as fresh arrays (tests, diagnostics). */
export function rowsOf(rows: PackedRows): RowView[] {
  const out: RowView[] = [];
  const values = new Array<unknown>(ROW_WIDTH);
  forEachRowInto(rows, values, 0, () =>
    out.push({
      entry: values.slice(0, ENTRY_WIDTH),
      hmacs: values.slice(ENTRY_WIDTH, LINE_OFFSET),
      lineOffset: values[LINE_OFFSET] as number,
      lineLength: values[LINE_OFFSET + 1] as number,
    }),
  );
  return out;
}
