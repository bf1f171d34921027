import { closeSync, openSync, writeSync } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';

/**
 * CSV exactly as the sqlite3 shell writes it in `.mode csv`, so an auditor who runs queries.sql gets
 * byte-identical files: rows end with CRLF, NULL is an empty field, and a value is quoted when it is empty
 * or holds a control character, a space, a quote, an apostrophe, a comma or any non-ASCII character.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return csvField(value.toString('utf8'));
  const text = String(value);
  if (text === '' || NEEDS_QUOTE.test(text)) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

// Characters the sqlite3 shell quotes: C0 controls, space, '"', "'", ',', DEL and everything beyond ASCII.
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTE = /[\u0000-\u0020"',\u007f-\uffff]/;

export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

export interface WrittenFile {
  sha256: string;
  bytes: number;
}

/**
 * Appends text to a file through a fixed-size buffer while hashing it, so a population of any size is
 * written with flat memory and its SHA-256 is known when the file is closed.
 */
export class HashingFileWriter {
  readonly #fd: number;
  readonly #hash: Hash = createHash('sha256');
  readonly #chunks: string[] = [];
  #pending = 0;
  #bytes = 0;

  constructor(path: string) {
    this.#fd = openSync(path, 'w');
  }

  write(text: string): void {
    this.#chunks.push(text);
    this.#pending += text.length;
    if (this.#pending >= 1 << 20) this.#flush();
  }

  #flush(): void {
    if (this.#chunks.length === 0) return;
    const buf = Buffer.from(this.#chunks.join(''), 'utf8');
    this.#chunks.length = 0;
    this.#pending = 0;
    this.#hash.update(buf);
    this.#bytes += buf.length;
    let off = 0;
    while (off < buf.length) off += writeSync(this.#fd, buf, off, buf.length - off);
  }

  close(): WrittenFile {
    this.#flush();
    closeSync(this.#fd);
    return { sha256: this.#hash.digest('hex'), bytes: this.#bytes };
  }
}
