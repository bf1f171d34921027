/**
 * Hands a prepared batch from the parse worker to the writer cheaply. Posting the entries as they are makes
 * the structured clone copy every one of the ~50 values of every line, and deserialising those strings on the
 * main thread cost about as much as the SQLite inserts themselves. Audit values repeat heavily within a batch
 * (type, paths, mounts, metadata, a job's token HMACs; a request and its response share id), so the batch is
 * sent as a table of its distinct strings plus two typed arrays (value kinds, numbers/string indexes) that are
 * transferred without copying. Unpacking rebuilds the same EntryRecords, value for value.
 */
import { COPY_HMAC_COLUMNS, ENTRY_COLUMNS } from './normalize.js';
import type { EntryRecord, PreparedBatch } from './batch.js';

const ENTRY_WIDTH = ENTRY_COLUMNS.length;
const HMAC_WIDTH = COPY_HMAC_COLUMNS.length;
/** entry values, HMAC values, line offset, line length. */
const ROW_WIDTH = ENTRY_WIDTH + HMAC_WIDTH + 2;

const NULL = 0;
const STRING = 1;
const NUMBER = 2;
/** Positions of time and time key in the entry values (normaliseEntry). */
const TIME = 2;
const TIME_KEY = 3;

export interface PackedEntries {
  count: number;
  strings: string[];
  kinds: Uint8Array;
  /** A number's value, or a string's index in `strings`. */
  cells: Float64Array;
}

/** A batch whose entries travel packed (`entries` is empty until unpacked). */
export type TransferBatch = PreparedBatch & { packed?: PackedEntries };

/** Packs the entries; returns the batch unchanged if a value is not a string, number or null (never expected). */
export function packBatch(batch: PreparedBatch): { batch: TransferBatch; transfer: ArrayBuffer[] } {
  const count = batch.entries.length;
  const kinds = new Uint8Array(count * ROW_WIDTH);
  const cells = new Float64Array(count * ROW_WIDTH);
  const strings: string[] = [];
  const index = new Map<string, number>();
  // Hashing every string into the map cost ~7 µs a line; most repeats are the same value as the row before in
  // the same column (a request and its response, one job's token, mount, policies), found by a compare.
  const lastString = new Array<string | null>(ROW_WIDTH).fill(null);
  const lastIndex = new Float64Array(ROW_WIDTH);
  let k = 0;
  const put = (v: unknown, c: number): boolean => {
    if (v === null) {
      kinds[k++] = NULL;
    } else if (typeof v === 'string') {
      let i: number | undefined;
      if (v === lastString[c]) {
        i = lastIndex[c]!;
      } else if (c === TIME || c === TIME_KEY) {
        // (nearly) every line has its own time: not worth hashing
        i = strings.length;
        strings.push(v);
      } else {
        i = index.get(v);
        if (i === undefined) {
          i = strings.length;
          strings.push(v);
          index.set(v, i);
        }
      }
      lastString[c] = v;
      lastIndex[c] = i;
      kinds[k] = STRING;
      cells[k++] = i;
    } else if (typeof v === 'number') {
      kinds[k] = NUMBER;
      cells[k++] = v;
    } else {
      return false;
    }
    return true;
  };
  for (const e of batch.entries) {
    if (e.entry.length !== ENTRY_WIDTH || e.hmacs.length !== HMAC_WIDTH) return { batch, transfer: [] };
    for (let c = 0; c < ENTRY_WIDTH; c++) if (!put(e.entry[c], c)) return { batch, transfer: [] };
    for (let c = 0; c < HMAC_WIDTH; c++) if (!put(e.hmacs[c], ENTRY_WIDTH + c)) return { batch, transfer: [] };
    kinds[k] = NUMBER;
    cells[k++] = e.lineOffset;
    kinds[k] = NUMBER;
    cells[k++] = e.lineLength;
  }
  return {
    batch: { ...batch, entries: [], packed: { count, strings, kinds, cells } },
    transfer: [kinds.buffer as ArrayBuffer, cells.buffer as ArrayBuffer],
  };
}

/** The batch with its EntryRecords rebuilt (a batch that was not packed is returned as it is). */
export function unpackBatch(batch: TransferBatch): PreparedBatch {
  const packed = batch.packed;
  if (!packed) return batch;
  const { count, strings, kinds, cells } = packed;
  const value = (k: number): unknown => (kinds[k] === STRING ? strings[cells[k]!] : kinds[k] === NUMBER ? cells[k] : null);
  const entries: EntryRecord[] = new Array<EntryRecord>(count);
  for (let r = 0, k = 0; r < count; r++) {
    const entry = new Array<unknown>(ENTRY_WIDTH);
    for (let c = 0; c < ENTRY_WIDTH; c++) entry[c] = value(k++);
    const hmacs = new Array<unknown>(HMAC_WIDTH);
    for (let c = 0; c < HMAC_WIDTH; c++) hmacs[c] = value(k++);
    const lineOffset = cells[k++]!;
    const lineLength = cells[k++]!;
    // normaliseEntry puts request id, type, time and time key first.
    entries[r] = {
      requestId: entry[0] as string | null,
      type: entry[1] as string,
      time: entry[2] as string,
      timeKey: entry[3] as string,
      lineOffset,
      lineLength,
      entry,
      hmacs,
    };
  }
  const { packed: _packed, ...rest } = batch;
  return { ...rest, entries };
}
