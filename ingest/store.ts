/**
 * Commits prepared batches: batch row (hash chained per device), one row a line (the entry, deduplicated on
 * request id and type through its request key, holding the first device's copy; a later device's copy of a
 * stored entry in audit_extra_copies), quarantined lines, the device's time range and the file checkpoint,
 * all in ONE better-sqlite3 transaction. The statements are compiled once by Kysely and run as prepared statements:
 * this is the ingest hot path.
 */
import { createHash } from 'node:crypto';
import { sql, type Compilable, type Kysely } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import { lastLineIdReader, type Database, type KeytrailDb } from '../db/index.js';
import { ENTRY_COLUMNS, COPY_HMAC_COLUMNS, NUMBER_ENTRY_COLUMNS } from './normalize.js';
import { KeytrailError } from '../db/errors.js';
import { sealBatch, type PreparedBatch } from './batch.js';
import { forEachRowInto, ROW_WIDTH } from './packed-rows.js';
import { KnownKeys } from './known-keys.js';

const MARK = '\u0000kt:';

/** A Kysely-compiled statement whose parameters are bound by name. */
class Prepared {
  private readonly names: (string | { value: unknown })[];
  readonly stmt: BetterSqlite3.Statement;

  constructor(sqlite: BetterSqlite3.Database, query: Compilable) {
    const compiled = query.compile();
    this.stmt = sqlite.prepare(compiled.sql);
    this.names = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARK) ? p.slice(MARK.length) : { value: p }));
  }

  private bind(params: Record<string, unknown>): unknown[] {
    return this.names.map((n) => (typeof n === 'string' ? (params[n] ?? null) : n.value));
  }

  run(params: Record<string, unknown>): BetterSqlite3.RunResult {
    return this.stmt.run(...this.bind(params));
  }

  get<T>(params: Record<string, unknown>): T | undefined {
    return this.stmt.get(...this.bind(params)) as T | undefined;
  }
}

/** Marker values: Kysely emits them as parameters, which are then bound by name. */
function marks<K extends string>(names: readonly K[]): Record<K, never> {
  return Object.fromEntries(names.map((n) => [n, `${MARK}${n}`])) as Record<K, never>;
}

/**
 * Values for an insert of these columns, bound in their order; those of text columns are cast to TEXT. The hot
 * statements are given strings as views of their UTF-8 bytes (forEachRowInto), which better-sqlite3 binds as
 * blobs: the cast stores them as the text they are (a JS string bound there is unchanged by it).
 */
function valuesCastingText<K extends string>(names: readonly K[], textColumns: ReadonlySet<string>): Record<K, never> {
  return Object.fromEntries(names.map((n) => [n, textColumns.has(n) ? castText(n) : `${MARK}${n}`])) as Record<K, never>;
}

function castText(name: string) {
  return sql<string>`CAST(${`${MARK}${name}`} AS TEXT)`;
}

/**
 * The columns of a table declared TEXT, checked against the columns that hold strings: a string column not cast
 * to TEXT would store its values as blobs.
 */
function textColumnsOf(sqlite: BetterSqlite3.Database, table: string, stringColumns: readonly string[]): Set<string> {
  const columns = sqlite.pragma(`table_info(${table})`) as { name: string; type: string }[];
  const text = new Set(columns.filter((c) => c.type.toLowerCase() === 'text').map((c) => c.name));
  const notText = stringColumns.filter((c) => !text.has(c));
  if (notText.length > 0) throw new Error(`internal: ${table} columns ${notText.join(', ')} hold strings but are not declared TEXT`);
  return text;
}

/** The packed columns that hold strings (all but the numbers normaliseEntry gives). */
const STRING_COLUMNS = [...ENTRY_COLUMNS, ...COPY_HMAC_COLUMNS].filter((c) => !(NUMBER_ENTRY_COLUMNS as readonly string[]).includes(c));

/** Positional statement for the two hot inserts (parameters in column order). */
function positional(sqlite: BetterSqlite3.Database, query: Compilable, columns: readonly string[]): BetterSqlite3.Statement {
  const compiled = query.compile();
  const names = compiled.parameters.map((p) => (typeof p === 'string' && p.startsWith(MARK) ? p.slice(MARK.length) : null));
  if (names.length !== columns.length || names.some((n, i) => n !== columns[i])) {
    throw new Error(`internal: unexpected parameter order in ${compiled.sql}`);
  }
  return sqlite.prepare(compiled.sql);
}

export interface SourceRef {
  device: string;
  source: 'file' | 'socket' | 'server-log';
  fileFingerprint: string | null;
  filePath: string | null;
}

export interface Checkpoint {
  fingerprint: string;
  kind: 'audit' | 'server-log';
  device: string;
  path: string;
  offset: number;
  lines: number;
  complete: number;
}

export interface ServerEventRecord {
  time: string;
  time_key: string;
  kind: string;
  lease_id: string | null;
  message: string;
  byte_offset: number;
}

export interface CommitResult {
  batchId: number;
  stored: number;
  duplicates: number;
  quarantined: number;
}

export interface FileCheckpointRow {
  fingerprint: string;
  device: string;
  path: string;
  offset: number;
  lines: number;
  complete: number;
}

/**
 * One row a line: the entry with its first device's copy (its id is the line's id), in bind order: the row's
 * own columns, then its packed values in packed order (packed-rows.ts), which are written into the arguments as
 * they are.
 */
const ENTRY_ROW_COLUMNS = ['id', 'device', 'batch_id', ...ENTRY_COLUMNS, ...COPY_HMAC_COLUMNS, 'line_offset', 'line_length'] as const;
/** Where the packed values start among the arguments, and where each one is. */
const PACKED = 3;
const HMACS = PACKED + ENTRY_COLUMNS.length;
const LINE_OFFSET = HMACS + COPY_HMAC_COLUMNS.length;
const LINE_LENGTH = LINE_OFFSET + 1;
/** Positions among the entry values (ENTRY_COLUMNS order). */
const REQUEST_ID = ENTRY_COLUMNS.indexOf('request_id');
const TYPE = ENTRY_COLUMNS.indexOf('type');
const TIME = ENTRY_COLUMNS.indexOf('time');
const TIME_KEY = ENTRY_COLUMNS.indexOf('time_key');
const REQUEST_KEY = ENTRY_COLUMNS.indexOf('request_key');
/** A later device's copy of a stored entry, in bind order. */
const EXTRA_COPY_COLUMNS = ['id', 'entry_id', 'device', 'time', 'time_key', 'batch_id', 'line_offset', 'line_length', ...COPY_HMAC_COLUMNS] as const;
const BATCH_COLUMNS = [
  'device', 'source', 'file_fingerprint', 'file_path', 'start_offset', 'end_offset', 'line_count', 'stored_count',
  'duplicate_count', 'quarantined_count', 'sha256', 'stored_sha256', 'prev_chain_sha256', 'chain_sha256', 'raw_bytes', 'raw_codec',
  'first_time_key', 'last_time_key', 'created_at',
] as const;

export class IngestStore {
  private readonly sqlite: BetterSqlite3.Database;
  private readonly insertEntry: BetterSqlite3.Statement;
  private readonly insertExtraCopy: BetterSqlite3.Statement;
  private readonly lastLineId: () => number;
  private readonly storedEntryId: BetterSqlite3.Statement;
  /** Stored request keys (known-keys.ts): loaded at the first batch, null when not worth it or no longer true. */
  private knownKeys: KnownKeys | null | undefined;
  private knownAtDataVersion = 0;
  /** The highest line id after this store's last batch: another writer on this connection moves it. */
  private knownAtLastId = 0;
  private readonly entryArgs = new Array<unknown>(PACKED + ROW_WIDTH).fill(null);
  private readonly extraCopyArgs = new Array<unknown>(EXTRA_COPY_COLUMNS.length).fill(null);
  private readonly chainHead: Prepared;
  private readonly insertBatch: Prepared;
  private readonly batchCounts: Prepared;
  private readonly insertQuarantine: Prepared;
  private readonly upsertFile: Prepared;
  private readonly upsertDevice: Prepared;
  private readonly fileByFingerprint: Prepared;
  private readonly deviceRow: Prepared;
  private readonly socketEnd: Prepared;
  private readonly commitTx: (src: SourceRef, batch: PreparedBatch, cp: Checkpoint | null) => CommitResult;
  private readonly insertServerEvent: Prepared;
  private readonly serverTx: (src: SourceRef, batch: PreparedBatch, events: ServerEventRecord[], cp: Checkpoint) => number;

  constructor(handle: KeytrailDb) {
    const db: Kysely<Database> = handle.db;
    this.sqlite = handle.sqlite;
    const s = this.sqlite;
    // Dedupe probes land anywhere in the request-key index (about 17 bytes a line, random keys): 64 MiB
    // keeps it cached beside a group's new rows up to a few million lines, and caps the cache whatever the
    // log size (RSS budget 300 MB). Connection-local setting; a larger one chosen by the caller is kept.
    const cache = s.pragma('cache_size', { simple: true }) as number;
    if (cache > -65536 && cache < 16384) s.pragma('cache_size = -65536');
    // Fewer, larger WAL checkpoints while batches stream in (32 MiB of WAL, whatever the page size).
    s.pragma(`wal_autocheckpoint = ${Math.ceil((32 * 1024 * 1024) / (s.pragma('page_size', { simple: true }) as number))}`);
    // The cast to TEXT reads a string's bytes as UTF-8 only in a UTF-8 database.
    const encoding = s.pragma('encoding', { simple: true }) as string;
    if (encoding !== 'UTF-8') throw new KeytrailError(`this database is encoded in ${encoding}; keytrail needs a UTF-8 database (create a new one)`);
    this.insertEntry = positional(
      s,
      db.insertInto('audit_entries').values(valuesCastingText(ENTRY_ROW_COLUMNS, textColumnsOf(s, 'audit_entries', STRING_COLUMNS))),
      ENTRY_ROW_COLUMNS,
    );
    this.insertExtraCopy = positional(
      s,
      db.insertInto('audit_extra_copies').values(valuesCastingText(EXTRA_COPY_COLUMNS, textColumnsOf(s, 'audit_extra_copies', ['device', 'time', 'time_key', ...COPY_HMAC_COLUMNS]))),
      EXTRA_COPY_COLUMNS,
    );
    // One id a line, in ingest order: the next follows the highest used, read inside the write transaction.
    this.lastLineId = lastLineIdReader(s);
    const m = marks(['request_key', 'request_id', 'type', 'device', 'fingerprint', 'id', 'stored', 'duplicates', 'quarantined'] as const);
    this.storedEntryId = positional(
      s,
      db
        .selectFrom('audit_entries')
        .select('id')
        .where('request_key', '=', m.request_key)
        .where('request_id', '=', castText('request_id'))
        .where('type', '=', castText('type')),
      ['request_key', 'request_id', 'type'],
    ).pluck();
    this.chainHead = new Prepared(s, db.selectFrom('ingest_batches').select('chain_sha256').where('device', '=', m.device).orderBy('id', 'desc').limit(1));
    this.insertBatch = new Prepared(s, db.insertInto('ingest_batches').values(marks(BATCH_COLUMNS)));
    this.batchCounts = new Prepared(
      s,
      db
        .updateTable('ingest_batches')
        .set({ stored_count: m.stored, duplicate_count: m.duplicates, quarantined_count: m.quarantined })
        .where('id', '=', m.id),
    );
    this.insertQuarantine = new Prepared(
      s,
      db
        .insertInto('quarantine')
        .values(marks(['device', 'source', 'file_path', 'file_fingerprint', 'byte_offset', 'byte_length', 'reason', 'detail', 'excerpt', 'batch_id', 'created_at'] as const)),
    );
    this.upsertFile = new Prepared(
      s,
      db
        .insertInto('audit_files')
        .values(marks(['fingerprint', 'kind', 'device', 'path', 'offset', 'lines', 'complete', 'updated_at'] as const))
        .onConflict((oc) =>
          oc.column('fingerprint').doUpdateSet((eb) => ({
            device: eb.ref('excluded.device'),
            path: eb.ref('excluded.path'),
            offset: eb.ref('excluded.offset'),
            lines: eb.ref('excluded.lines'),
            complete: eb.ref('excluded.complete'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        ),
    );
    this.upsertDevice = new Prepared(
      s,
      db
        .insertInto('devices')
        .values(marks(['name', 'log_raw', 'log_raw_detected_at', 'first_time_key', 'last_time_key'] as const))
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({
            log_raw: sql<number>`max(devices.log_raw, excluded.log_raw)`,
            log_raw_detected_at: sql<string>`coalesce(devices.log_raw_detected_at, excluded.log_raw_detected_at)`,
            first_time_key: sql<string>`coalesce(min(devices.first_time_key, excluded.first_time_key), devices.first_time_key, excluded.first_time_key)`,
            last_time_key: sql<string>`coalesce(max(devices.last_time_key, excluded.last_time_key), devices.last_time_key, excluded.last_time_key)`,
          }),
        ),
    );
    this.fileByFingerprint = new Prepared(s, db.selectFrom('audit_files').selectAll().where('fingerprint', '=', m.fingerprint));
    this.deviceRow = new Prepared(s, db.selectFrom('devices').selectAll().where('name', '=', m.device));
    this.socketEnd = new Prepared(
      s,
      db
        .selectFrom('ingest_batches')
        .select((eb) => eb.fn.max('end_offset').as('end'))
        .where('device', '=', m.device)
        .where('source', '=', 'socket'),
    );
    this.commitTx = this.sqlite.transaction((src, batch, cp) => this.commitInside(src, batch, cp));
    this.insertServerEvent = new Prepared(
      s,
      db
        .insertInto('server_events')
        .values(marks(['time', 'time_key', 'kind', 'lease_id', 'message', 'file_path', 'file_fingerprint', 'byte_offset', 'batch_id'] as const)),
    );
    this.serverTx = this.sqlite.transaction((src, batch, events, cp) => {
      const batchId = this.insertBatchRow(src, batch, new Date().toISOString());
      for (const e of events) {
        this.insertServerEvent.run({ ...e, file_path: src.filePath, file_fingerprint: src.fileFingerprint, batch_id: batchId });
      }
      this.insertQuarantines(src, batch, batchId, new Date().toISOString());
      this.batchCounts.run({ id: batchId, stored: events.length, duplicates: 0, quarantined: batch.quarantined.length });
      this.upsertFile.run({ ...cp, updated_at: new Date().toISOString() });
      return batchId;
    });
  }

  /** A server-log batch: its events, quarantined lines and checkpoint in one transaction (no device row). */
  commitServerLog(src: SourceRef, batch: PreparedBatch, events: ServerEventRecord[], cp: Checkpoint): number {
    return this.serverTx(src, batch, events, cp);
  }

  file(fingerprint: string): FileCheckpointRow | undefined {
    return this.fileByFingerprint.get<FileCheckpointRow>({ fingerprint });
  }

  deviceIsLogRaw(device: string): boolean {
    return (this.deviceRow.get<{ log_raw: number }>({ device })?.log_raw ?? 0) === 1;
  }

  /** Where the next socket batch of this device starts in its (virtual) stream. */
  socketOffset(device: string): number {
    return Number(this.socketEnd.get<{ end: number | null }>({ device })?.end ?? 0);
  }

  /** A checkpoint without new lines (a gzipped rotation read to its end). */
  saveCheckpoint(cp: Checkpoint): void {
    this.upsertFile.run({ ...cp, updated_at: new Date().toISOString() });
  }

  /**
   * Opens a write transaction that groups the next commits, ended by `endGroup` (or undone by a batch that
   * fails). A file's batches are written in groups: the random keys of the request-key index dirty about one
   * index page per line, and a page dirtied by many batches of one group is written to the WAL once.
   * Every copy references the batch row and an entry row its own batch just inserted or looked up, so the
   * per-row foreign-key probes cannot fail: they are off for the group (the pragma only takes effect outside
   * a transaction) and restored after.
   */
  beginGroup(): void {
    if (this.sqlite.inTransaction) return;
    this.groupRestoresForeignKeys = this.sqlite.pragma('foreign_keys', { simple: true }) === 1;
    if (this.groupRestoresForeignKeys) this.sqlite.pragma('foreign_keys = OFF');
    this.sqlite.exec('BEGIN IMMEDIATE');
    this.groupOpen = true;
  }

  /**
   * Commits the group (what its batches wrote, with their checkpoints); a failed COMMIT rolls it back.
   * Returns whether a group was open (false after a failed batch already rolled it back).
   */
  endGroup(): boolean {
    if (!this.groupOpen) return false;
    this.groupOpen = false;
    try {
      if (this.sqlite.inTransaction) this.sqlite.exec('COMMIT');
    } catch (err) {
      if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
      throw err;
    } finally {
      if (this.groupRestoresForeignKeys) this.sqlite.pragma('foreign_keys = ON');
    }
    return true;
  }

  /** Undoes the open group: every batch it holds, with its checkpoint (the next read starts before them). */
  private rollbackGroup(): void {
    if (!this.groupOpen) return;
    this.groupOpen = false;
    try {
      if (this.sqlite.inTransaction) this.sqlite.exec('ROLLBACK');
    } finally {
      if (this.groupRestoresForeignKeys) this.sqlite.pragma('foreign_keys = ON');
    }
  }

  private groupOpen = false;
  private groupRestoresForeignKeys = false;

  commit(src: SourceRef, batch: PreparedBatch, cp: Checkpoint | null): CommitResult {
    // Inside a caller's own transaction, a savepoint keeps the batch all-or-nothing.
    if (!this.groupOpen && this.sqlite.inTransaction) return this.commitTx(src, batch, cp);
    // Outside a group (the socket listener), a batch is a group of one.
    const own = !this.groupOpen;
    if (own) this.beginGroup();
    // No savepoint per batch: SQLite copied every page a savepoint touched to a statement journal first
    // (about 1.5 times the database size in extra writes). A batch that fails half-way rolls back its whole
    // group instead; their checkpoints go with them, so the next read starts before them: nothing is lost or
    // counted twice.
    try {
      const result = this.commitInside(src, batch, cp);
      if (own) this.endGroup();
      return result;
    } catch (err) {
      this.rollbackGroup();
      throw err;
    }
  }

  private commitInside(src: SourceRef, batch: PreparedBatch, cp: Checkpoint | null): CommitResult {
    const now = new Date().toISOString();
    const batchId = this.insertBatchRow(src, batch, now);
    let stored = 0;
    let duplicates = 0;
    const lastId = this.lastLineId();
    let nextId = lastId + 1;
    const device = src.device;
    const known = this.knownKeysNow(lastId);
    // One array of arguments for every row (better-sqlite3 reads an array argument element by element through
    // a slow property lookup, so it is spread into the call).
    const args = this.entryArgs;
    args[1] = device;
    args[2] = batchId;
    forEachRowInto(batch.rows, args, PACKED, () => {
      const id = nextId++;
      // An entry is unique on request id and type: probed by its integer key (not unique, db/request-key.ts)
      // inside the group's write transaction, where no other writer can insert in between. A separate probe
      // costs less than INSERT … WHERE NOT EXISTS, for which SQLite first copies the row to a temporary table.
      // A key the filter has never seen needs no probe.
      const key = args[PACKED + REQUEST_KEY] as number | null;
      const entryId =
        key === null || (known !== null && !known.mayHave(key))
          ? undefined
          : (this.storedEntryId.get(key, args[PACKED + REQUEST_ID], args[PACKED + TYPE]) as number | undefined);
      if (entryId === undefined) {
        // One row a line: the entry with this device's copy.
        args[0] = id;
        this.insertEntry.run(...args);
        if (key !== null) known?.add(key);
        stored++;
        return;
      }
      // Already stored (another device, or an HA node, logged it first): this device's copy is kept beside it.
      const extra = this.extraCopyArgs;
      extra[0] = id;
      extra[1] = entryId;
      extra[2] = device;
      extra[3] = args[PACKED + TIME];
      extra[4] = args[PACKED + TIME_KEY];
      extra[5] = batchId;
      extra[6] = args[LINE_OFFSET];
      extra[7] = args[LINE_LENGTH];
      for (let h = HMACS; h < LINE_OFFSET; h++) extra[8 + h - HMACS] = args[h];
      this.insertExtraCopy.run(...extra);
      duplicates++;
    });
    this.knownAtLastId = nextId - 1;
    this.insertQuarantines(src, batch, batchId, now);
    this.batchCounts.run({ id: batchId, stored, duplicates, quarantined: batch.quarantined.length });
    this.upsertDevice.run({
      name: src.device,
      log_raw: batch.redacted ? 1 : 0,
      log_raw_detected_at: batch.redacted ? now : null,
      first_time_key: batch.firstTimeKey,
      last_time_key: batch.lastTimeKey,
    });
    if (cp) this.upsertFile.run({ ...cp, updated_at: now });
    return { batchId, stored, duplicates, quarantined: batch.quarantined.length };
  }

  /**
   * The filter of stored request keys, valid inside this write transaction. Loaded at the first batch; dropped
   * for good once anyone else has written lines (their entries are not in it: a duplicate would pass as new):
   * another connection (`data_version` moved) or other code on this connection (the highest line id is not the
   * one this store's last batch left). A rolled-back group moves the line id back and drops it too.
   */
  private knownKeysNow(lastLineId: number): KnownKeys | null {
    const dataVersion = this.sqlite.pragma('data_version', { simple: true }) as number;
    if (this.knownKeys === undefined) {
      this.knownKeys = KnownKeys.load(this.sqlite, lastLineId);
    } else if (this.knownKeys !== null && (dataVersion !== this.knownAtDataVersion || lastLineId !== this.knownAtLastId)) {
      this.knownKeys = null;
    }
    this.knownAtDataVersion = dataVersion;
    return this.knownKeys;
  }

  private insertBatchRow(src: SourceRef, batch: PreparedBatch, now: string): number {
    const prev = this.chainHead.get<{ chain_sha256: string }>({ device: src.device })?.chain_sha256 ?? null;
    // Hashed and compressed by the thread that built the batch, or here (sealBatch does whichever is left).
    sealBatch(batch);
    const sha256 = batch.sha256!;
    const storedSha256 = batch.storedSha256!;
    const chain = createHash('sha256')
      .update(prev ?? '')
      .update(storedSha256)
      .digest('hex');
    const raw = batch.compressed!;
    const batchId = Number(
      this.insertBatch.run({
        device: src.device,
        source: src.source,
        file_fingerprint: src.fileFingerprint,
        file_path: src.filePath,
        start_offset: batch.startOffset,
        end_offset: batch.endOffset,
        line_count: batch.lineCount,
        stored_count: 0,
        duplicate_count: 0,
        quarantined_count: batch.quarantined.length,
        sha256,
        stored_sha256: storedSha256,
        prev_chain_sha256: prev,
        chain_sha256: chain,
        raw_bytes: Buffer.from(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength),
        raw_codec: raw.codec,
        first_time_key: batch.firstTimeKey,
        last_time_key: batch.lastTimeKey,
        created_at: now,
      }).lastInsertRowid,
    );
    return batchId;
  }

  private insertQuarantines(src: SourceRef, batch: PreparedBatch, batchId: number, now: string): void {
    for (const q of batch.quarantined) {
      this.insertQuarantine.run({
        device: src.device,
        source: src.source,
        file_path: src.filePath,
        file_fingerprint: src.fileFingerprint,
        byte_offset: q.offset,
        byte_length: q.length,
        reason: q.reason,
        detail: q.detail,
        excerpt: q.excerpt,
        batch_id: batchId,
        created_at: now,
      });
    }
  }
}
