/**
 * Which files an `ingest vault` argument means (CONTRACT.md "Ingest details"), the device a file belongs to,
 * and a file's identity: the fingerprint of its first line, so that a renamed or gzipped rotation keeps its
 * checkpoint and a new or truncated file is read from byte 0.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';

const ROTATION_SUFFIX = /(?:\.gz|\.\d+|-\d{8}[\dT_:-]*)$/;
const AUDIT_EXTENSIONS = /\.(?:log|jsonl|json)$/;

/** `audit.log.1.gz` → `audit.log`; `audit.log-20260101` → `audit.log`. */
export function stripRotation(name: string): string {
  let n = name;
  while (ROTATION_SUFFIX.test(n)) {
    const next = n.replace(ROTATION_SUFFIX, '');
    if (next === '' || next === n) break;
    n = next;
  }
  return n;
}

/** Default device name: the file's base name without rotation suffixes. */
export function deviceNameFor(path: string): string {
  return stripRotation(basename(path));
}

/** How old a rotation is: larger is older (`.3` before `.1` before the live file). */
function rotationAge(name: string): number {
  const rest = name.slice(stripRotation(name).length).replace(/\.gz$/, '');
  const n = /^\.(\d+)/.exec(rest);
  if (n) return Number(n[1]);
  const d = /^-(\d{8})/.exec(rest);
  if (d) return 1e9 - Number(d[1]);
  return 0;
}

export interface InputFile {
  path: string;
  /** Only read when its fingerprint is already known (a rotation of a file named on the command line). */
  onlyIfKnown: boolean;
}

/** Oldest rotation first, the live file last, grouped by directory and base name. */
export function sortRotations(paths: InputFile[]): InputFile[] {
  return [...paths].sort((a, b) => {
    const ka = `${dirname(a.path)}\u0000${stripRotation(basename(a.path))}`;
    const kb = `${dirname(b.path)}\u0000${stripRotation(basename(b.path))}`;
    if (ka !== kb) return ka < kb ? -1 : 1;
    return rotationAge(basename(b.path)) - rotationAge(basename(a.path));
  });
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Expands arguments: a directory means its `*.log`, `*.jsonl`, `*.json` files and their rotations (not
 * recursive); a file means itself, plus its rotations in the same directory when their content is already
 * known (so that lines written before a rotation are not lost). Missing paths are reported.
 */
export function expandInputs(args: string[], kind: 'audit' | 'server-log' = 'audit'): { files: InputFile[]; missing: string[] } {
  const out = new Map<string, InputFile>();
  const missing: string[] = [];
  for (const arg of args) {
    const p = resolve(arg);
    let st;
    try {
      st = statSync(p);
    } catch {
      missing.push(arg);
      continue;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const full = join(p, name);
        const base = stripRotation(name);
        if ((kind === 'server-log' || AUDIT_EXTENSIONS.test(base)) && isFile(full)) out.set(full, { path: full, onlyIfKnown: false });
      }
      continue;
    }
    out.set(p, { path: p, onlyIfKnown: false });
    const dir = dirname(p);
    const base = basename(p);
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (name !== base && stripRotation(name) === base && !out.has(full) && isFile(full)) out.set(full, { path: full, onlyIfKnown: true });
    }
  }
  return { files: sortRotations([...out.values()]), missing };
}

/** Bytes hashed for identity at most: the first line, or its first 8 KiB. */
export const FINGERPRINT_BYTES = 8192;

export interface FileHead {
  /** null while the file has no complete first line (nothing can be read from it yet anyway). */
  fingerprint: string | null;
  gzip: boolean;
  /** Size on disk (compressed size for gzip). */
  size: number;
}

function fingerprintOf(head: Buffer, complete: boolean): string | null {
  const nl = head.indexOf(10);
  if (nl >= 0) return createHash('sha256').update(head.subarray(0, nl + 1)).digest('hex');
  if (head.length >= FINGERPRINT_BYTES || complete) {
    return head.length === 0 ? null : createHash('sha256').update(head.subarray(0, FINGERPRINT_BYTES)).digest('hex');
  }
  return null;
}

async function gunzipHead(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = createReadStream(path).pipe(createGunzip());
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= FINGERPRINT_BYTES || chunk.includes(10)) break;
    }
  } catch {
    // A gzip file still being written: whatever was decompressed is the head.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, FINGERPRINT_BYTES);
}

export async function readFileHead(path: string): Promise<FileHead> {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(Math.min(FINGERPRINT_BYTES, size));
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  if (gzip) {
    const plain = await gunzipHead(path);
    return { fingerprint: fingerprintOf(plain, true), gzip, size };
  }
  return { fingerprint: fingerprintOf(head, false), gzip, size };
}
