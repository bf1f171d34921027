import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers/cli.js';
import { AuditLineScanner } from '../ingest/line-scanner.js';
import { jsonStart, parseAuditLine } from '../ingest/parse.js';
import { normaliseEntry } from '../ingest/normalize.js';
import { looksLogRaw } from '../ingest/redact.js';
import { auditLines } from '../bench/gen-audit.js';
import { batchOfLines } from './helpers/batches.js';
import { rowsOf } from '../ingest/packed-rows.js';
import { simulate } from '../sim/index.js';
import { Rng } from '../sim/simulate/prng.js';

const tmp = tempDir('keytrail-scanner-');
afterAll(() => tmp.cleanup());

const PUBLIC_VAULT = join(import.meta.dirname, 'fixtures/public/vault');

type Outcome = { fast: boolean; slow: { entry: unknown[]; hmacs: unknown[]; time: string; timeKey: string; logRaw: boolean } | null };

/** Both ways of reading one line, as BatchBuilder runs them: the line is followed by its newline. */
function readBoth(line: string | Buffer, prefix: string | null = null): Outcome & { scanner: AuditLineScanner; bytes: Buffer } {
  const bytes = Buffer.concat([Buffer.from(line), Buffer.from('\n')]);
  const end = bytes.length - 1;
  const prefixBytes = prefix === null ? null : Buffer.from(prefix);
  const scanner = new AuditLineScanner();
  const at = jsonStart(bytes, prefixBytes, 0, end);
  const fast = at >= 0 && scanner.scan(bytes, at, end);
  const parsed = parseAuditLine(bytes, prefixBytes, 0, end);
  const slow = parsed.ok
    ? { ...normaliseEntry(parsed.entry, parsed.requestId, parsed.type, parsed.time, parsed.timeKey), time: parsed.time, timeKey: parsed.timeKey, logRaw: looksLogRaw(parsed.entry) }
    : null;
  return { fast, slow, scanner, bytes };
}

/** The scanner either leaves a line to the general way or gives exactly its values. */
function expectSameOrLeft(line: string | Buffer, prefix: string | null = null): boolean {
  const { fast, slow, scanner, bytes } = readBoth(line, prefix);
  if (!fast) return false;
  expect(slow, `scanned a line the general way rejects: ${String(line).slice(0, 200)}`).not.toBeNull();
  // A clear token makes the device log_raw: the general way redacts the line.
  expect(slow!.logRaw).toBe(false);
  const { entry, hmacs } = scanner.values(bytes);
  expect({ entry, hmacs, time: scanner.time, timeKey: scanner.timeKey, logRaw: false }).toEqual(slow);
  // Same types too (toEqual would not tell 1 from true, and a number from a numeric string is caught above).
  [...entry, ...hmacs].forEach((v, i) => expect(typeof v).toBe(typeof [...slow!.entry, ...slow!.hmacs][i]));
  return true;
}

function linesOf(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('ingest: the plain audit line is read from its bytes with the same values as JSON.parse gives', () => {
  it('reads every public sample it takes exactly as the general way, and takes most of them', () => {
    let taken = 0;
    let lines = 0;
    for (const name of readdirSync(PUBLIC_VAULT).filter((n) => n.endsWith('.jsonl'))) {
      for (const line of linesOf(join(PUBLIC_VAULT, name))) {
        lines++;
        if (expectSameOrLeft(line)) taken++;
      }
    }
    expect(lines).toBeGreaterThan(40);
    // Escaped strings (\u003c, \n in a policy) and fractions go the general way; the rest is read here.
    expect(taken).toBeGreaterThan(lines * 0.8);
  });

  it('reads generated and simulated CI traffic exactly as the general way, nearly all of it from the bytes', async () => {
    const generated = [...auditLines({ lines: 2000, seed: 21 })];
    expect(generated.filter((l) => expectSameOrLeft(l)).length).toBe(generated.length);

    const sim = await simulate({ outDir: join(tmp.dir, 'sim'), seed: 5, days: 1, projects: 3, jobsPerDay: 12 });
    const simulated = filesUnder(sim.outDir).filter((p) => /audit.*\.log$/.test(p)).flatMap(linesOf);
    expect(simulated.length).toBeGreaterThan(500);
    const taken = simulated.filter((l) => expectSameOrLeft(l)).length;
    // The simulator's torn lines and its anomalies' odd lines go the general way.
    expect(taken).toBeGreaterThan(simulated.length * 0.95);
  });

  it('leaves to the general way what it does not read exactly as JSON.parse and JSON.stringify would', () => {
    const base = (auth: string, extra = '') =>
      `{"time":"2026-03-02T08:00:00.5Z","type":"response","auth":${auth},"request":{"id":"r1","operation":"read","path":"secret/x"${extra}}}`;
    const left = [
      base('{"display_name":"a","display_name":"b"}'), // a repeated key: JSON.parse keeps the last
      base('{"metadata":{"b":"1","a":"2","b":"3"}}'), // a repeated key in stored JSON text
      base('{"metadata":{"role":"x","10":"y"}}'), // V8 puts integer-like keys first
      base('{"metadata":{"n":1.0}}'), // JSON.stringify writes 1
      base('{"metadata":{"n":-0}}'),
      base('{"metadata":{"n":12345678901234567890}}'), // not exact as a JS number
      base('{"token_ttl":1e3}'),
      base('{"metadata":{"team":"a\\u0026b"}}'), // an escape in stored JSON text: JSON.stringify writes &
      base('{"display_n\\u0061me":"a"}'), // an escaped key
      base('{}', ',"data":{"policy":"path \\"a\\" {}"}'), // request.data is stored JSON text
      base('{"display_name":"café"}'), // not ASCII
      base('{"display_name": "a"}'), // whitespace between tokens
      base('{"client_token":"hvs.CAESIJ2aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"}'), // a clear token: log_raw
      base('{}', ',"data":{"token":"s.AbCdEfGhIjKlMnOpQrStUvWx"}'),
      base('{}', ',"client_token":"hvs.CAESIJ2aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"'),
      `${base('{}').slice(0, -1)},"response":{"auth":{"client_token":"hvb.AbCdEfGhIjKlMnOpQrStUvWx01"}}}`,
      `${base('{}').slice(0, -1)},"response":{"wrap_info":{"token":"hvs.CAESIJ2aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"}}}`,
      // An object whose text is kept with more keys than the scanner checks for repeats, and a line over 64 KiB.
      base(`{"metadata":{${Array.from({ length: 65 }, (_, i) => `"k${i}":"v"`).join(',')}}}`),
      base(`{"display_name":"${'x'.repeat(70_000)}"}`),
      base('"not an object"'),
      base('{}', ',"namespace":[1]'),
    ];
    for (const line of left) {
      expect(readBoth(line).slow, line).not.toBeNull();
      expect(readBoth(line).fast, line).toBe(false);
    }
    // A bad escape, or anything after the object: the general way quarantines the line.
    for (const line of [base('{"display_name":"a\\qb"}'), `${base('{}')}}`, `${base('{}')} x`, base('{}').slice(0, -1)]) {
      expect(readBoth(line), line).toMatchObject({ fast: false, slow: null });
    }
  });

  it('reads the odd but plain forms itself: nulls, empty values, other types, header forms, response errors', () => {
    const line = (auth: string, request: string, response: string) =>
      `{"time":"2026-03-02T08:00:00Z","type":"response","auth":${auth},"request":${request},"response":${response},"error":""}`;
    const taken = [
      line('null', '{"id":"","path":"","remote_port":null,"namespace":null}', 'null'),
      line('{"policies":[],"metadata":{},"token_ttl":"3600","display_name":7}', '{"headers":{"x-correlation-id":[],"correlation-id":"c-2"}}', '{"warnings":["w"],"data":{"error":""}}'),
      line('{"policies":"default","metadata":["x"]}', '{"headers":{"x-correlation-id":[""],"correlation-id":["c-3","c-4"]}}', '{"data":{"error":false}}'),
      line('{"token_issue_time":"2026-03-02T09:00:00+01:00"}', '{"headers":{"x-correlation-id":[7]},"data":{"a":{"b":[1,-2,{"c":null}]},"lease_id":"l/1"}}', '{"data":{"error":{"code":1}},"auth":{"orphan":true,"num_uses":0},"secret":{"lease_id":"db/creds/x/1"}}'),
      line('{"metadata":{"project_id":"7","nested":{"k":[true,false,null]}}}', '{"remote_port":-12,"data":{}}', '{"mount_type":"kv","auth":{"orphan":"yes"},"data":{"error":null,"x":1.5e-3}}'),
    ];
    // Escapes in a string read on its own: an error message's newlines, a code unit.
    taken.push(`{"time":"2026-03-02T08:00:00Z","type":"response","auth":{"display_name":"caf\\u00e9 \\ud83d\\ude00"},"error":"1 error occurred:\\n\\t* permission denied\\n\\n","request":{"path":"kv/\\"x\\""}}`);
    for (const l of taken) expect(expectSameOrLeft(l), l).toBe(true);
    // A device prefix before the JSON, and a line ending in a carriage return.
    expect(expectSameOrLeft(`vault-a: ${taken[0]}`, 'vault-a: ')).toBe(true);
    expect(expectSameOrLeft(`${taken[1]}\r`)).toBe(true);
  });

  it('packs scanned lines and parsed ones side by side in one batch with the values of the general way', () => {
    // Lines of one job repeat their values, and lines going either way alternate: a scanned line's value is found
    // again among strings packed from parsed lines (a parsed line's string is not compared with values packed
    // from bytes: it is packed again, which costs bytes, not correctness).
    const plain = [...auditLines({ lines: 120, seed: 9 })];
    const lines = plain.flatMap((line, i) => (i % 3 === 0 ? [line, line.replace('"display_name":"', '"display_name":"\\u00e9')] : i % 3 === 1 ? [line, line.replace('"display_name":"', '"display_name":"ü')] : [line]));
    const rows = rowsOf(batchOfLines(lines).rows);
    expect(rows).toHaveLength(lines.length);
    rows.forEach((row, i) => {
      const { slow } = readBoth(lines[i]!);
      expect({ entry: row.entry, hmacs: row.hmacs }).toEqual({ entry: slow!.entry, hmacs: slow!.hmacs });
    });
  });

  it('never scans a line the general way rejects, nor reads one otherwise, however it is mangled', () => {
    const rng = new Rng(7, 'mangled-lines');
    const next = () => rng.next();
    const samples = [...auditLines({ lines: 40, seed: 3 })];
    const pieces = ['"', '{', '}', '[', ']', ',', ':', '\\', ' ', '0', '-', '1.5', 'null', 'true', '"x"', '\u00e9', '\u0000', 'e', '.'];
    let mutated = 0;
    let taken = 0;
    for (let n = 0; n < 3000; n++) {
      let line = samples[Math.floor(next() * samples.length)]!;
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (line.length + 1));
        const piece = pieces[Math.floor(next() * pieces.length)]!;
        const op = next();
        line = op < 0.4 ? line.slice(0, at) + piece + line.slice(at) : op < 0.8 ? line.slice(0, at) + piece + line.slice(at + 1) : line.slice(0, at) + line.slice(at + 1 + Math.floor(next() * 20));
      }
      mutated++;
      if (expectSameOrLeft(line)) taken++;
    }
    // Many mangled lines are still valid entries (an edit inside a string, say) and are read here.
    expect(mutated).toBe(3000);
    expect(taken).toBeGreaterThan(300);
  });
});
