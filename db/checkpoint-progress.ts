/**
 * The checkpointer's progress, shared between the writer and the checkpointer's thread in one SharedArrayBuffer.
 * Posted as messages, its reports reached a busy writer seconds late: the writer commits batch after batch
 * without giving its event loop a turn while the parse worker is ahead, so it acted on a WAL that had grown by a
 * whole group since (and copied that group itself, ~0.7 s, before starting the WAL over). Read from shared memory,
 * the writer sees each report as soon as it is written.
 *
 * Layout (Int32): the writer's commit count; then the report, guarded by a sequence number that is odd while the
 * checkpointer writes it (a seqlock: the reader retries on a torn read).
 */
const WRITER_COMMITS = 0;
const SEQUENCE = 1;
const REPORT_COMMITS = 2;
const LOG = 3;
const CHECKPOINTED = 4;
const SLOTS = 5;

/** How far the checkpointer got: frames in the WAL and copied, after the writer's `commits`-th commit. */
export interface CheckpointReport {
  commits: number;
  log: number;
  checkpointed: number;
}

/** No report yet (or none readable): nothing is known to be copied. */
const NONE: CheckpointReport = { commits: -1, log: 0, checkpointed: 0 };

export function createProgress(): Int32Array {
  const progress = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  progress[REPORT_COMMITS] = NONE.commits;
  return progress;
}

/** The writer committed a group. */
export function noteWriterCommit(progress: Int32Array): void {
  Atomics.add(progress, WRITER_COMMITS, 1);
}

export function writerCommits(progress: Int32Array): number {
  return Atomics.load(progress, WRITER_COMMITS);
}

/** How many reports the checkpointer has written (each checkpoint that was not busy writes one). */
export function reportsWritten(progress: Int32Array): number {
  return Atomics.load(progress, SEQUENCE) >>> 1;
}

/** Written by the checkpointer's thread after each checkpoint. */
export function writeReport(progress: Int32Array, report: CheckpointReport): void {
  Atomics.add(progress, SEQUENCE, 1);
  Atomics.store(progress, REPORT_COMMITS, report.commits);
  Atomics.store(progress, LOG, report.log);
  Atomics.store(progress, CHECKPOINTED, report.checkpointed);
  Atomics.add(progress, SEQUENCE, 1);
}

/**
 * The last report, read whole. The checkpointer writes one a few times a second, so a retry is rare; a thread
 * stopped half-way through writing one leaves the sequence odd, which reads as no report.
 */
export function readReport(progress: Int32Array): CheckpointReport {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const before = Atomics.load(progress, SEQUENCE);
    // A bit test, not `% 2`: the sequence wraps to negative numbers after 2^31 reports.
    if ((before & 1) !== 0) continue;
    const report = { commits: Atomics.load(progress, REPORT_COMMITS), log: Atomics.load(progress, LOG), checkpointed: Atomics.load(progress, CHECKPOINTED) };
    if (Atomics.load(progress, SEQUENCE) === before) return report;
  }
  return NONE;
}
