/**
 * `ingest vault <file|dir>...`: reads every new complete line of every file once, in batches that write
 * their rows and the file's checkpoint together; consecutive batches share one transaction (about 2 s of them),
 * so a crash re-reads at most that uncommitted group and never duplicates or loses a line.
 * With `follow`, keeps scanning (woken by chokidar, with a periodic scan as the ground truth) until the signal
 * aborts.
 */
import { watchTargets } from './watch.js';
import picomatch from 'picomatch';
import { BackgroundCheckpointer, type KeytrailDb } from '../db/index.js';
import { KeytrailError } from '../db/errors.js';
import { deviceNameFor, expandInputs, readFileHead, type FileHead } from './files.js';
import { keyPathFor } from './redact.js';
import { IngestStore } from './store.js';
import { batchesFor, workerAvailable } from './worker-client.js';
import { watchForChanges } from './watch.js';

export interface IngestLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface VaultIngestOptions {
  /** Device name for every file (default: each file's base name without rotation suffixes). */
  device?: string;
  /** Prefix Vault writes before each entry (device option `prefix`), for every file. */
  prefix?: string;
  /** Prefix per device name (config `vault.devices[].prefix`), used when `prefix` is not given. */
  prefixes?: Record<string, string>;
  /** Configured devices (`vault.devices`): a file matching a device's `paths` globs gets that device's prefix. */
  configuredDevices?: { name: string; paths: string[]; prefix?: string }[];
  logger?: IngestLogger;
  follow?: boolean;
  /** Stops following (and a one-shot run) after the batch being committed. */
  signal?: AbortSignal;
  /** Periodic scan interval in follow mode (ms, default 1000). */
  pollMs?: number;
  /** Parse in a worker thread when a file has more than this many new bytes (default 4 MiB; 0 = always). */
  workerThresholdBytes?: number;
  /** Lines per batch (default 2000; a batch also ends at 2 MiB). */
  batchLines?: number;
  /** Called after each committed batch: bytes consumed so far in this run and the bytes the run expects. */
  onProgress?: (done: number, total: number) => void;
  /** The measured defaults, made smaller by tests that need several groups, WAL restarts or a tail in a small file. */
  tuning?: {
    /** Batches a group commits at most (default 256). */
    groupBatches?: number;
    /** How long a group collects batches at most (default 2 s). */
    groupMs?: number;
    /** WAL size at which the writer starts it over once the checkpointer has caught up (default 256 MiB). */
    walRestartBytes?: number;
    /** The end of a large plain file that is a group of its own (default 32 MiB). */
    tailBytes?: number;
    /** How often the background checkpointer copies the WAL and reports (default 200 ms). */
    checkpointMs?: number;
  };
}

export interface VaultIngestSummary {
  files: number;
  lines: number;
  bytes: number;
  stored: number;
  duplicates: number;
  quarantined: number;
  rate: number;
}

/** Some files could not be read; the others were ingested (their summary is attached). */
export class IngestIncompleteError extends KeytrailError {
  constructor(
    readonly files: string[],
    readonly summary: VaultIngestSummary,
  ) {
    super(`could not read ${files.join(', ')} (the other files were ingested)`);
  }
}

/**
 * A group of batches commits after this much time (or this many batches, whichever comes first). Longer
 * groups write the randomly placed request-key index pages fewer times; 2 s keeps another writer's wait well
 * inside the 10 s busy timeout, and a crash re-reads at most that much.
 */
const GROUP_BATCHES = 256;
const GROUP_MS = 2000;
/**
 * The end of a large plain file (about a second of lines here) is a group of its own: the checkpointer copies the
 * group before it while it is written, and the checkpoint when the database closes copies only it, not a whole group.
 */
const TAIL_BYTES = 32 * 1024 * 1024;

const silent: IngestLogger = { info() {}, warn() {} };

export class VaultFileIngester {
  private readonly store: IngestStore;
  private readonly log: IngestLogger;
  private readonly keyPath: string;
  private readonly filesWithBytes = new Set<string>();
  private readonly warnedLogRaw = new Set<string>();
  readonly totals = { lines: 0, bytes: 0, stored: 0, duplicates: 0, quarantined: 0 };
  private expected = 0;

  constructor(
    private readonly handle: KeytrailDb,
    private readonly opts: VaultIngestOptions,
  ) {
    this.store = new IngestStore(handle);
    this.log = opts.logger ?? silent;
    this.keyPath = keyPathFor(handle.path);
  }

  get filesTouched(): number {
    return this.filesWithBytes.size;
  }

  private prefixFor(device: string, path: string): string | null {
    if (this.opts.prefix !== undefined) return this.opts.prefix;
    const byName = this.opts.prefixes?.[device] ?? this.opts.configuredDevices?.find((d) => d.name === device)?.prefix;
    if (byName !== undefined) return byName;
    const byPath = this.opts.configuredDevices?.find((d) => d.prefix !== undefined && d.paths.some((g) => picomatch(g, { dot: true })(path)));
    return byPath?.prefix ?? null;
  }

  /** One pass over the inputs: reads what is new in every file. */
  async scan(inputs: string[]): Promise<void> {
    const { files, missing } = expandInputs(inputs);
    if (missing.length && !this.opts.follow) throw new KeytrailError(`no such file or directory: ${missing.join(', ')}`);
    // One plan per content: the same file can be seen twice (copytruncate's copy before the truncation, a
    // rotation both plain and gzipped); the plain copy is preferred.
    const byFingerprint = new Map<string, { path: string; head: FileHead; fingerprint: string }>();
    for (const f of files) {
      const head = await readFileHead(f.path).catch(() => null);
      if (!head?.fingerprint) continue;
      const cp = this.store.file(head.fingerprint);
      if (cp?.complete) continue;
      if (f.onlyIfKnown && !cp) continue;
      const seen = byFingerprint.get(head.fingerprint);
      if (!seen || (seen.head.gzip && !head.gzip)) byFingerprint.set(head.fingerprint, { path: f.path, head, fingerprint: head.fingerprint });
    }
    const plans = [];
    for (const p of byFingerprint.values()) {
      const cp = this.store.file(p.fingerprint);
      let start = cp ? Number(cp.offset) : 0;
      if (!p.head.gzip && p.head.size < start) {
        this.log.warn({ file: p.path, offset: start, size: p.head.size }, 'file is shorter than its checkpoint (truncated in place): reading it again from the start');
        start = 0;
      }
      if (!p.head.gzip && p.head.size === start) continue;
      plans.push({ ...p, cp, start });
    }
    this.expected += plans.reduce((n, p) => n + Math.max(0, p.head.size - (p.head.gzip ? 0 : p.start)), 0);
    for (const p of plans) {
      if (this.opts.signal?.aborted) return;
      try {
        await this.readFile(p.path, p.fingerprint, p.head.gzip, p.head.size - p.start, p.start, Number(p.cp?.lines ?? 0));
      } catch (err) {
        // One unreadable file (a rotation still being compressed, a corrupt gzip) does not stop the others;
        // what was committed stays, and the next run or scan resumes from its checkpoint.
        this.failed.push(p.path);
        this.log.warn({ file: p.path, error: (err as Error).message }, 'could not read audit file');
      }
    }
  }

  /** Files that could not be read in this run. */
  readonly failed: string[] = [];

  private async readFile(path: string, fingerprint: string, gzip: boolean, newBytes: number, start: number, lines: number): Promise<void> {
    const device = this.opts.device ?? deviceNameFor(path);
    const useWorker = gzip || newBytes > (this.opts.workerThresholdBytes ?? 4 * 1024 * 1024);
    const events = batchesFor(
      path,
      {
        start,
        gzip,
        prefix: this.prefixFor(device, path),
        logRaw: this.store.deviceIsLogRaw(device),
        keyPath: this.keyPath,
        maxLines: this.opts.batchLines,
      },
      useWorker,
    );
    const src = { device, source: 'file' as const, fileFingerprint: fingerprint, filePath: path };
    // Batches are committed in groups (bounded in batches and time, so other writers never wait long): each
    // batch carries its own checkpoint, so a crash loses at most the uncommitted group, which the next run
    // reads again — never a duplicate, never a gap. The group's counts join the totals once it commits (a
    // batch that fails rolls its whole group back).
    let grouped = 0;
    let groupStarted = 0;
    let tailGrouped = false;
    let pending = { lines: 0, bytes: 0, stored: 0, duplicates: 0, quarantined: 0 };
    const tuning = this.opts.tuning ?? {};
    const groupBatches = tuning.groupBatches ?? GROUP_BATCHES;
    const groupMs = tuning.groupMs ?? GROUP_MS;
    const tailBytes = tuning.tailBytes ?? TAIL_BYTES;
    // A large read: checkpoints run beside the writer instead of inside its commits.
    const checkpointer = useWorker ? BackgroundCheckpointer.start(this.handle, { restartBytes: tuning.walRestartBytes, intervalMs: tuning.checkpointMs }) : null;
    // A compiled worker that cannot be found, or a checkpointer thread that failed, only costs speed: say which
    // way the file is read (and, at its end, how many checkpoints ran beside the writer).
    this.log.debug?.({ file: path, parse_worker: useWorker && workerAvailable(), background_checkpoints: checkpointer !== null }, 'reading audit file');
    const endGroup = () => {
      const committed = this.store.endGroup();
      if (committed) checkpointer?.noteCommit();
      grouped = 0;
      if (committed && pending.lines > 0) {
        this.filesWithBytes.add(fingerprint);
        for (const k of Object.keys(pending) as (keyof typeof pending)[]) this.totals[k] += pending[k];
      }
      pending = { lines: 0, bytes: 0, stored: 0, duplicates: 0, quarantined: 0 };
    };
    try {
      for await (const ev of events) {
        if (ev.kind === 'end') {
          if (gzip) this.store.saveCheckpoint({ fingerprint, kind: 'audit', device, path, offset: ev.offset, lines, complete: 1 });
          break;
        }
        if (grouped === 0) {
          this.store.beginGroup();
          groupStarted = performance.now();
        }
        const b = ev.batch;
        lines += b.lineCount;
        const res = this.store.commit(src, b, { fingerprint, kind: 'audit', device, path, offset: b.endOffset, lines, complete: 0 });
        pending.lines += b.lineCount;
        pending.bytes += b.endOffset - b.startOffset;
        pending.stored += res.stored;
        pending.duplicates += res.duplicates;
        pending.quarantined += res.quarantined;
        // Entering the tail of a large plain file ends the group (once), unless a group ends here anyway.
        const tailStarts = checkpointer !== null && !gzip && !tailGrouped && newBytes > tailBytes && start + newBytes - b.endOffset <= tailBytes;
        if (tailStarts) tailGrouped = true;
        if (checkpointer?.restartDue) {
          // The WAL is large and copied up to this group: end the group early and start the WAL over.
          endGroup();
          checkpointer.restartWal();
        } else if (++grouped >= groupBatches || performance.now() - groupStarted >= groupMs || this.opts.signal?.aborted || tailStarts) {
          endGroup();
        }
        if (b.redacted && !this.warnedLogRaw.has(device)) {
          this.warnedLogRaw.add(device);
          this.log.warn({ device }, 'device writes tokens in clear (log_raw=true): values are redacted with keytrail\'s keyed hash before storage; reconfigure the device without log_raw');
        }
        const done = this.totals.bytes + pending.bytes;
        this.opts.onProgress?.(done, Math.max(this.expected, done));
        if (this.opts.signal?.aborted) break;
      }
    } finally {
      // What the open group wrote is consistent (each batch with its checkpoint) even if reading failed later.
      endGroup();
      await checkpointer?.stop();
      if (checkpointer) this.log.debug?.({ file: path, background_checkpoints_done: checkpointer.checkpointsDone }, 'read audit file');
    }
  }
}

function summary(ing: VaultFileIngester, startedAt: number): VaultIngestSummary {
  const seconds = (performance.now() - startedAt) / 1000;
  return {
    files: ing.filesTouched,
    ...ing.totals,
    rate: seconds > 0 ? Math.round(ing.totals.lines / seconds) : ing.totals.lines,
  };
}

/**
 * Ingests Vault audit files (and directories). Returns the summary of CONTRACT.md: `files` that yielded new
 * bytes, complete `lines` read, decompressed `bytes` consumed, `stored`, `duplicates`, `quarantined`, `rate`.
 */
export async function ingestVaultFiles(handle: KeytrailDb, paths: string[], opts: VaultIngestOptions = {}): Promise<VaultIngestSummary> {
  const startedAt = performance.now();
  const ing = new VaultFileIngester(handle, opts);
  await ing.scan(paths);
  if (!opts.follow) {
    const result = summary(ing, startedAt);
    if (ing.failed.length) throw new IngestIncompleteError([...new Set(ing.failed)], result);
    return result;
  }
  await watchForChanges(watchTargets(paths), opts.pollMs ?? 1000, opts.signal, async () => {
    await ing.scan(paths);
  });
  return summary(ing, startedAt);
}
