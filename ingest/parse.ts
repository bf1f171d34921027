/**
 * One audit line → a parsed entry, or the reason it cannot be stored. Parsing is by key, lenient about
 * missing and unknown keys (vault-audit.md §2, §6.10); framing noise (a device `prefix`, a syslog header,
 * operational log text before the first `{`) is skipped.
 */
import { toTimeKey } from '../db/time.js';

export type QuarantineReason = 'empty' | 'oversized' | 'invalid-json' | 'not-an-audit-entry' | 'jsonx' | 'torn';

export type ParsedLine =
  | { ok: true; entry: Record<string, unknown>; time: string; timeKey: string; type: 'request' | 'response'; requestId: string | null }
  | { ok: false; reason: QuarantineReason; detail: string };

const OPEN_BRACE = 0x7b;

/** Where the JSON of `line[start, end)` starts: after the device prefix when the line has it, else at the first `{`; -1 if nowhere. */
export function jsonStart(line: Buffer, prefix: Buffer | null, start = 0, end = line.length): number {
  const hasPrefix = prefix !== null && prefix.length > 0 && end - start >= prefix.length && line.compare(prefix, 0, prefix.length, start, start + prefix.length) === 0;
  const from = hasPrefix ? start + prefix.length : start;
  // A Vault line starts with its JSON; other noise is searched for in the line only (not in the bytes after it).
  if (from < end && line[from] === OPEN_BRACE) return from;
  const at = line.subarray(from, end).indexOf(OPEN_BRACE);
  return at < 0 ? -1 : from + at;
}

function isBlank(line: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/**
 * The most recent parsed entries, kept alive on purpose. V8's optimised code for the parser and normaliser
 * holds the maps (object shapes) of these entries weakly; when every entry of a shape had died by the time of
 * a full GC, the maps were collected, that code was thrown away and compiled again, over and over: about half
 * of the parse worker's JIT time, and the lines in between ran unoptimised.
 */
const SHAPE_KEEPERS = 64;
/**
 * Only entries of ordinary lines are kept: the shapes are the same, and 64 entries of lines near the 16 MiB
 * limit would hold a gigabyte (the parse worker ran out of heap on a file of 15 MiB lines).
 */
const SHAPE_KEEPER_MAX_LINE_BYTES = 64 * 1024;
const shapeKeepers: unknown[] = new Array<unknown>(SHAPE_KEEPERS);
let nextKeeper = 0;

/** Parses the line `line[from, to)` (all of `line` by default). */
export function parseAuditLine(line: Buffer, prefix: Buffer | null, from = 0, to = line.length): ParsedLine {
  if (isBlank(line, from, to)) return { ok: false, reason: 'empty', detail: 'blank line' };
  const start = jsonStart(line, prefix, from, to);
  if (start < 0) {
    const text = line.toString('utf8', from, Math.min(to, from + 64)).trimStart();
    if (text.startsWith('<json:')) return { ok: false, reason: 'jsonx', detail: 'format=jsonx is not supported; configure the device with format=json' };
    return { ok: false, reason: 'invalid-json', detail: 'no JSON object on the line' };
  }
  let value: unknown;
  const text = line.toString('utf8', start, to);
  try {
    value = JSON.parse(text);
  } catch (err) {
    const trimmed = text.trimEnd();
    const torn = !trimmed.endsWith('}') || trimmed.indexOf('{"', 1) > 0;
    return { ok: false, reason: torn ? 'torn' : 'invalid-json', detail: (err as Error).message.slice(0, 200) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'not-an-audit-entry', detail: 'the JSON value is not an object' };
  }
  const entry = value as Record<string, unknown>;
  if (to - from <= SHAPE_KEEPER_MAX_LINE_BYTES) {
    shapeKeepers[nextKeeper] = entry;
    nextKeeper = (nextKeeper + 1) % SHAPE_KEEPERS;
  }
  const type = entry.type;
  if (type !== 'request' && type !== 'response') {
    return { ok: false, reason: 'not-an-audit-entry', detail: `type is ${JSON.stringify(type ?? null)}, not request or response` };
  }
  const time = entry.time;
  const timeKey = typeof time === 'string' ? toTimeKey(time) : null;
  if (typeof time !== 'string' || !timeKey) {
    return { ok: false, reason: 'not-an-audit-entry', detail: 'missing or invalid time' };
  }
  const request = entry.request as Record<string, unknown> | undefined;
  const id = request && typeof request === 'object' ? request.id : undefined;
  return { ok: true, entry, time, timeKey, type, requestId: typeof id === 'string' && id !== '' ? id : null };
}
