import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * A text sink that buffers small writes and honours backpressure, so that generating millions of lines never
 * holds more than a buffer's worth in memory. Optionally gzipped (logrotate's `compress`).
 */
export class LineWriter {
  private buf: string[] = [];
  private bufLen = 0;
  private readonly file: WriteStream;
  private readonly gz: Gzip | null;
  bytes = 0;
  lines = 0;

  constructor(readonly path: string, gzip = false) {
    mkdirSync(dirname(path), { recursive: true });
    this.file = createWriteStream(path);
    this.gz = gzip ? createGzip({ level: 1 }) : null;
    if (this.gz) this.gz.pipe(this.file);
  }

  /** Appends text; resolves once the sink accepts more (await it to respect backpressure). */
  async write(text: string): Promise<void> {
    this.buf.push(text);
    this.bufLen += text.length;
    this.bytes += Buffer.byteLength(text);
    if (this.bufLen >= 1 << 18) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buf.length === 0) return;
    const chunk = this.buf.join('');
    this.buf = [];
    this.bufLen = 0;
    const target = this.gz ?? this.file;
    if (!target.write(chunk)) await once(target, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    const done = once(this.file, 'close');
    if (this.gz) this.gz.end();
    else this.file.end();
    await done;
  }
}

/** logrotate names: the newest segment is `audit.log`, then `audit.log.1`, then `audit.log.N.gz` (delaycompress). */
export function rotationName(base: string, n: number): { name: string; gzip: boolean } {
  if (n === 0) return { name: base, gzip: false };
  if (n === 1) return { name: `${base}.1`, gzip: false };
  return { name: `${base}.${n}.gz`, gzip: true };
}

/**
 * The audit files of one device on one node, rotated daily. `contentDays` are the days on which the node/device
 * logs anything (logrotate's `notifempty` skips the others); the newest gets the lowest number.
 */
export class RotatingAuditFile {
  private current: { day: number; w: LineWriter } | null = null;
  private readonly numbers = new Map<number, number>();
  private readonly dir: string;
  lines = 0;
  files: string[] = [];

  constructor(dir: string, contentDays: number[], lastDay: number) {
    this.dir = dir;
    const sorted = [...contentDays].sort((a, b) => b - a);
    let n = sorted[0] === lastDay ? 0 : 1;
    for (const d of sorted) this.numbers.set(d, n++);
  }

  /** Returns the writer of `day`'s segment, closing the previous one. */
  async writer(day: number): Promise<LineWriter> {
    if (this.current && this.current.day === day) return this.current.w;
    if (this.current) await this.current.w.close();
    const n = this.numbers.get(day);
    if (n === undefined) throw new Error(`no rotation planned for day ${day} in ${this.dir}`);
    const { name, gzip } = rotationName('audit.log', n);
    const w = new LineWriter(join(this.dir, name), gzip);
    this.files.push(w.path);
    this.current = { day, w };
    return w;
  }

  async close(): Promise<void> {
    if (this.current) await this.current.w.close();
    this.current = null;
    // A planned day that logged nothing still gets its (empty) file, so the numbering has no hole.
    for (const n of this.numbers.values()) {
      const { name, gzip } = rotationName('audit.log', n);
      const path = join(this.dir, name);
      if (!this.files.includes(path)) {
        const w = new LineWriter(path, gzip);
        this.files.push(path);
        await w.close();
      }
    }
    // logrotate leaves an empty current file when the newest content was already rotated away.
    if (![...this.numbers.values()].includes(0)) {
      const w = new LineWriter(join(this.dir, 'audit.log'));
      this.files.push(w.path);
      await w.close();
    }
  }
}
