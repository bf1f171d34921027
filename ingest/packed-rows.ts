/**
 * A batch's rows, packed as they are parsed: a table of distinct strings plus two typed arrays (value kinds,
 * and numbers or string indexes). Packing each line as soon as it is normalised keeps the parse worker's heap
 * small: only the batch's distinct strings live until the batch is posted, instead of every line's arrays and
 * values (which survived young-generation collections, got promoted and cost the worker as much CPU in garbage
 * collection as JSON.parse itself). The typed arrays are transferred to the writer without copying and the
 * strings table is cloned once; audit values repeat heavily within a batch (type, paths, mounts, metadata, a
 * job's token HMACs; a request and its response share id). The writer binds values straight from the arrays.
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

export interface PackedRows {
  count: number;
  strings: string[];
  kinds: Uint8Array;
  /** A number's value, or a string's index in `strings`. */
  cells: Float64Array;
}

/** One row as the writer binds it: entry values in ENTRY_COLUMNS order, HMACs in COPY_HMAC_COLUMNS order. */
export interface RowView {
  entry: unknown[];
  hmacs: unknown[];
  lineOffset: number;
  lineLength: number;
}

export class PackedRowsWriter {
  private kinds: Uint8Array;
  private cells: Float64Array;
  private readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  // Most repeats are the value the row before had in the same column (a request and its response, one job's
  // token, mount and policies): found by a compare, without hashing the string into the map.
  private readonly lastString = new Array<string | null>(ROW_WIDTH).fill(null);
  private readonly lastIndex = new Float64Array(ROW_WIDTH);
  private rows = 0;

  constructor(capacity = 256) {
    const spare = capacity > 0 ? takeSpare(capacity * ROW_WIDTH) : undefined;
    this.kinds = spare?.kinds ?? new Uint8Array(capacity * ROW_WIDTH);
    this.cells = spare?.cells ?? new Float64Array(capacity * ROW_WIDTH);
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
    return { count: this.rows, strings: this.strings, kinds: this.kinds, cells: this.cells };
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
    let i: number | undefined;
    if (v === this.lastString[column]) {
      i = this.lastIndex[column]!;
    } else if (column === TIME || column === TIME_KEY) {
      i = this.strings.push(v) - 1;
    } else {
      i = this.index.get(v);
      if (i === undefined) {
        i = this.strings.push(v) - 1;
        this.index.set(v, i);
      }
    }
    this.lastString[column] = v;
    this.lastIndex[column] = i;
    this.kinds[k] = STRING;
    this.cells[k] = i;
  }

  private grow(): void {
    const kinds = new Uint8Array(this.kinds.length * 2);
    kinds.set(this.kinds);
    const cells = new Float64Array(this.cells.length * 2);
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
const spares: { kinds: Uint8Array; cells: Float64Array }[] = [];
const MAX_SPARES = 8;

export function recycleRows(kinds: Uint8Array, cells: Float64Array): void {
  if (spares.length < MAX_SPARES && kinds.length === cells.length) spares.push({ kinds, cells });
}

function takeSpare(length: number): { kinds: Uint8Array; cells: Float64Array } | undefined {
  const i = spares.findIndex((s) => s.kinds.length === length);
  return i === -1 ? undefined : spares.splice(i, 1)[0];
}

/** The buffers to transfer (not copy) when posting packed rows to another thread. */
export function transferList(rows: PackedRows): ArrayBuffer[] {
  return [rows.kinds.buffer as ArrayBuffer, rows.cells.buffer as ArrayBuffer];
}

/**
 * Calls `visit` for each row with a view whose arrays are reused from row to row (the writer binds them at
 * once; copy them to keep them).
 */
export function forEachRow(rows: PackedRows, visit: (row: RowView) => void): void {
  const { count, strings, kinds, cells } = rows;
  const view: RowView = { entry: new Array<unknown>(ENTRY_WIDTH), hmacs: new Array<unknown>(HMAC_WIDTH), lineOffset: 0, lineLength: 0 };
  const value = (k: number): unknown => (kinds[k] === STRING ? strings[cells[k]!] : kinds[k] === NUMBER ? cells[k] : null);
  for (let r = 0, k = 0; r < count; r++) {
    for (let c = 0; c < ENTRY_WIDTH; c++) view.entry[c] = value(k++);
    for (let c = 0; c < HMAC_WIDTH; c++) view.hmacs[c] = value(k++);
    view.lineOffset = cells[k++]!;
    view.lineLength = cells[k++]!;
    visit(view);
  }
}

/** Every row as fresh arrays (tests, diagnostics). */
export function rowsOf(rows: PackedRows): RowView[] {
  const out: RowView[] = [];
  forEachRow(rows, (v) => out.push({ entry: [...v.entry], hmacs: [...v.hmacs], lineOffset: v.lineOffset, lineLength: v.lineLength }));
  return out;
}
