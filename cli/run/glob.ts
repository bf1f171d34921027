import { readdirSync, statSync } from 'node:fs';
import { join, sep, isAbsolute, resolve } from 'node:path';
import picomatch from 'picomatch';

/**
 * Expands a file glob (Node 20 has no fs.glob): walks from the longest literal directory prefix and
 * matches with picomatch. Results are sorted so runs are deterministic. A pattern without glob characters
 * is returned as is when it exists.
 */
export function expandGlob(pattern: string, cwd = process.cwd()): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  if (!picomatch.scan(abs).isGlob) {
    try {
      statSync(abs);
      return [abs];
    } catch {
      return [];
    }
  }
  const parts = abs.split(sep);
  const literal: string[] = [];
  for (const part of parts) {
    if (picomatch.scan(part).isGlob) break;
    literal.push(part);
  }
  const base = literal.join(sep) || sep;
  const isMatch = picomatch(abs, { dot: false });
  const deep = abs.includes('**');
  const depth = parts.length - literal.length;
  const out: string[] = [];
  const walk = (dir: string, level: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (deep || level + 1 < depth) walk(full, level + 1);
      } else if (isMatch(full)) {
        out.push(full);
      }
    }
  };
  walk(base, 0);
  return out.sort();
}
