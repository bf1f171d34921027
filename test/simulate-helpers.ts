/** Helpers shared by the simulate-* tests: read every audit file of a simulated directory. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Parsed audit/GitLab JSON, walked freely by the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions over arbitrary parsed JSON
export type Json = any;

export interface AuditLine {
  file: string;
  node: string;
  device: string;
  text: string;
  entry: Record<string, Json> | null;
}

/** All files under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Every line of every audit file (gz decompressed), parsed when it is JSON. */
export function auditLines(dir: string): AuditLine[] {
  const out: AuditLine[] = [];
  for (const file of listFiles(dir).filter((f) => /^vault\/[^/]+\/[^/]+\/audit\.log/.test(f))) {
    const [, node, device] = file.split('/');
    const raw = readFileSync(join(dir, file));
    const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let entry: Record<string, Json> | null = null;
      try {
        entry = JSON.parse(line) as Record<string, Json>;
      } catch {
        entry = null;
      }
      out.push({ file, node: node!, device: device!, text: line, entry });
    }
  }
  return out;
}

export function ndjson<T = Record<string, Json>>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}
