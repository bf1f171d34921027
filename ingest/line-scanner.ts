/**
 * The common audit line, read straight from its bytes: one pass that checks the JSON and picks out the values
 * normaliseEntry takes, without building the entry's objects and strings. JSON.parse of each line was ~40% of
 * the parse worker's time; most of what it built (every key and value of a ~1.4 KB line) was thrown away.
 *
 * Only the plain form Vault writes is read here: ASCII, no whitespace between tokens, integers where a number is
 * read or JSON text is kept, no repeated keys where a value is taken, no escapes in keys, in kept JSON text
 * (metadata, policies, request.data, warnings), in token fields or in type and time (an escaped string read on
 * its own, such as an error message's "\n", is decoded with JSON.parse). Anything else, lines over 64 KiB, and
 * every line of a log_raw device make `scan` return false, and the line goes the general way (parseAuditLine +
 * normaliseEntry), which stays the reference: for every line this scanner takes it gives the same values
 * (test/ingest-line-scanner.test.ts compares both on real, generated, simulated and mangled lines).
 */
import { toTimeKey } from '../db/time.js';
import { asciiRequestKey, requestKey } from '../db/request-key.js';
import { COPY_HMAC_COLUMNS, ENTRY_COLUMNS, issueTimeUtc, MAX_REQUEST_DATA_BYTES } from './normalize.js';
import { CELL_NULL, CELL_NUMBER, CELL_RANGE, CELL_STRING, type ScannedCells } from './packed-rows.js';

const SCANNED_WIDTH = ENTRY_COLUMNS.length + COPY_HMAC_COLUMNS.length;
/** Entry columns by name. */
const C = Object.fromEntries(ENTRY_COLUMNS.map((name, i) => [name, i])) as Record<(typeof ENTRY_COLUMNS)[number], number>;

/** How a key's value is read. Values of another type than the one named are read as null, as normaliseEntry does. */
const AS_STRING = 0; // a non-empty string (str)
const AS_PATH = 1; // any string, also '' (request.path; type, time and wrap_info.token, checked later)
const AS_NUMBER = 2; // an integer (num); other numbers go the general way
const AS_BOOL = 3; // true → 1, false → 0 (bool01)
const AS_ARRAY_TEXT = 4; // a non-empty array's JSON text (policies, warnings)
const AS_OBJECT_TEXT = 5; // a non-empty object's JSON text (metadata)
const AS_HEADER = 6; // a header: a non-empty string, or the first element of an array when it is one
const AS_PRESENT = 7; // 1 unless absent, null or '' (response.data.error)
const AS_OBJECT = 8; // an object whose keys are read in turn (null ≡ absent; any other type goes the general way)

/** What a field holds after a scan. */
const NONE = 0; // null
const RANGE = 1; // a string (or JSON text): b[start, end)
const NUMBER = 2;
const ESCAPED = 3; // a string with escapes: b[start, end) is its text between the quotes, decoded by JSON.parse

interface KeyRule {
  bytes: Uint8Array;
  field: number;
  as: number;
  /** The keys read inside an AS_OBJECT value. */
  level: Level | null;
  /** A clear Vault token here makes the line a log_raw one (looksLogRaw): the general way decides. */
  token: boolean;
}

interface Level {
  /**
   * An open-addressing table of the rules by a hash of the key's length and first and last bytes: index + 1 in
   * `rules`, 0 for an empty slot (an unread key usually finds one at once). A Map lookup cost ~1.5 µs a line.
   */
  slots: Int16Array;
  rules: KeyRule[];
  /**
   * The object's JSON text is stored as it is (request.data): its text must be what JSON.stringify gives for it
   * (rawKey, integer).
   */
  raw: boolean;
}

let fieldCount = 0;
const field = (): number => fieldCount++;

// Top level.
const TYPE = field();
const TIME = field();
const ERROR = field();
const AUTH = field();
const REQUEST = field();
const RESPONSE = field();
// The caller's token (auth) and the issued one (response.auth) share their keys' fields but not their slots.
const tokenFields = () => ({
  accessor: field(), clientToken: field(), displayName: field(), entityId: field(), tokenType: field(),
  tokenTtl: field(), issueTime: field(), policies: field(), tokenPolicies: field(), metadata: field(),
  numUses: field(), orphan: field(),
});
const A = tokenFields();
const RA = tokenFields();
const RESPONSE_AUTH = field();
const mountFields = () => ({ point: field(), type: field(), accessor: field(), class: field() });
const REQ_MOUNT = mountFields();
const RESP_MOUNT = mountFields();
const REQ_ID = field();
const OPERATION = field();
const PATH = field();
const NAMESPACE = field();
const NAMESPACE_ID = field();
const NAMESPACE_PATH = field();
const REMOTE_ADDRESS = field();
const REMOTE_PORT = field();
const HEADERS = field();
const X_CORRELATION_ID = field();
const CORRELATION_ID = field();
const REQ_CLIENT_TOKEN = field();
const REQ_CLIENT_TOKEN_ACCESSOR = field();
const REQ_DATA = field();
const DATA_TOKEN = field();
const DATA_ACCESSOR = field();
const DATA_LEASE_ID = field();
const RESP_DATA = field();
const RESP_DATA_ERROR = field();
const SECRET = field();
const LEASE_ID = field();
const WARNINGS = field();
const WRAP_INFO = field();
const WRAP_TOKEN = field();

type Rule = [key: string, field: number, as: number, level?: Level | null, token?: boolean];

const SLOTS = 256;

function level(rules: Rule[], raw = false): Level {
  const lvl: Level = { slots: new Int16Array(SLOTS), rules: [], raw };
  for (const [key, f, as, child = null, token = false] of rules) {
    const bytes = Buffer.from(key, 'latin1');
    let slot = slotOf(bytes.length, bytes[0]!, bytes[bytes.length - 1]!);
    while (lvl.slots[slot] !== 0) slot = (slot + 1) & (SLOTS - 1);
    lvl.rules.push({ bytes, field: f, as, level: child, token });
    lvl.slots[slot] = lvl.rules.length;
  }
  return lvl;
}

const slotOf = (length: number, first: number, last: number): number => (length * 37 + first * 7 + last) & (SLOTS - 1);

function tokenLevel(t: ReturnType<typeof tokenFields>, issued: boolean): Level {
  const rules: Rule[] = [
    ['accessor', t.accessor, AS_STRING],
    ['client_token', t.clientToken, AS_STRING, null, true],
    ['display_name', t.displayName, AS_STRING],
    ['entity_id', t.entityId, AS_STRING],
    ['token_type', t.tokenType, AS_STRING],
    ['token_ttl', t.tokenTtl, AS_NUMBER],
    ['policies', t.policies, AS_ARRAY_TEXT],
    ['metadata', t.metadata, AS_OBJECT_TEXT],
  ];
  if (issued) rules.push(['num_uses', t.numUses, AS_NUMBER], ['orphan', t.orphan, AS_BOOL]);
  else rules.push(['token_issue_time', t.issueTime, AS_STRING], ['token_policies', t.tokenPolicies, AS_ARRAY_TEXT]);
  return level(rules);
}

const mountRules = (m: ReturnType<typeof mountFields>): Rule[] => [
  ['mount_point', m.point, AS_STRING],
  ['mount_type', m.type, AS_STRING],
  ['mount_accessor', m.accessor, AS_STRING],
  ['mount_class', m.class, AS_STRING],
];

const TOP_LEVEL = level([
  ['type', TYPE, AS_PATH],
  ['time', TIME, AS_PATH],
  ['error', ERROR, AS_STRING],
  ['auth', AUTH, AS_OBJECT, tokenLevel(A, false)],
  [
    'request', REQUEST, AS_OBJECT,
    level([
      ['id', REQ_ID, AS_STRING],
      ['operation', OPERATION, AS_STRING],
      ['path', PATH, AS_PATH],
      ['namespace', NAMESPACE, AS_OBJECT, level([['id', NAMESPACE_ID, AS_STRING], ['path', NAMESPACE_PATH, AS_STRING]])],
      ...mountRules(REQ_MOUNT),
      ['remote_address', REMOTE_ADDRESS, AS_STRING],
      ['remote_port', REMOTE_PORT, AS_NUMBER],
      ['headers', HEADERS, AS_OBJECT, level([['x-correlation-id', X_CORRELATION_ID, AS_HEADER], ['correlation-id', CORRELATION_ID, AS_HEADER]])],
      ['client_token', REQ_CLIENT_TOKEN, AS_STRING, null, true],
      ['client_token_accessor', REQ_CLIENT_TOKEN_ACCESSOR, AS_STRING],
      ['data', REQ_DATA, AS_OBJECT, level([['token', DATA_TOKEN, AS_STRING, null, true], ['accessor', DATA_ACCESSOR, AS_STRING], ['lease_id', DATA_LEASE_ID, AS_STRING]], true)],
    ]),
  ],
  [
    'response', RESPONSE, AS_OBJECT,
    level([
      ...mountRules(RESP_MOUNT),
      ['auth', RESPONSE_AUTH, AS_OBJECT, tokenLevel(RA, true)],
      ['data', RESP_DATA, AS_OBJECT, level([['error', RESP_DATA_ERROR, AS_PRESENT]])],
      ['secret', SECRET, AS_OBJECT, level([['lease_id', LEASE_ID, AS_STRING]])],
      ['warnings', WARNINGS, AS_ARRAY_TEXT],
      ['wrap_info', WRAP_INFO, AS_OBJECT, level([['token', WRAP_TOKEN, AS_PATH, null, true]])],
    ]),
  ],
]);

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const NL = 0x0a;
const BACKSLASH = 0x5c;
/** The characters after a backslash that JSON allows, but `u` (a code unit in 4 hex digits). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
/** Bytes that may stand in a string as they are: printable ASCII but `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;
const EMPTY = Buffer.alloc(0);
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
const REQUEST_BYTES = Buffer.from('request');
const RESPONSE_BYTES = Buffer.from('response');
/** Nesting deeper than this goes the general way (the scanner recurses). */
const MAX_DEPTH = 64;
/**
 * Keys of the objects open inside stored JSON text, checked for repeats (each against the keys before it in its
 * object): more go the general way.
 */
const MAX_RAW_KEYS = 256;
/** Keys of one object inside stored JSON text: more go the general way (the repeat check is quadratic). */
const MAX_OBJECT_RAW_KEYS = 64;
/**
 * Longer lines go the general way: their request.data is not kept (MAX_REQUEST_DATA_BYTES), and JSON.parse
 * bounds the time any line takes (the checks for stored JSON text are not linear in the worst case).
 */
const MAX_SCANNED_LINE_BYTES = 64 * 1024;
/** More digits than this may not be exact as a JS number (and JSON.stringify may write it otherwise). */
const MAX_INTEGER_DIGITS = 15;

/** Node's primitive behind `buf.toString('latin1', …)`, without its argument handling (not in the typings). */
interface BufferPrimitives {
  latin1Slice?(start: number, end: number): string;
}
const primitives = Buffer.prototype as BufferPrimitives;
const latin1 = (b: Buffer, start: number, end: number): string =>
  primitives.latin1Slice ? primitives.latin1Slice.call(b, start, end) : b.toString('latin1', start, end);

export class AuditLineScanner {
  /**
   * The values normaliseEntry would give, entry columns then HMACs (valid after `scan` returned true; reused):
   * strings as ranges of the scanned buffer where they are its bytes, for the packer to copy.
   */
  readonly cells: ScannedCells = {
    kinds: new Uint8Array(SCANNED_WIDTH),
    starts: new Int32Array(SCANNED_WIDTH),
    ends: new Int32Array(SCANNED_WIDTH),
    numbers: new Float64Array(SCANNED_WIDTH),
    strings: new Array<string | null>(SCANNED_WIDTH).fill(null),
  };
  time = '';
  timeKey = '';

  private b: Buffer = EMPTY;
  private p = 0;
  private readonly seen = new Uint8Array(fieldCount);
  private readonly kind = new Uint8Array(fieldCount);
  private readonly start = new Int32Array(fieldCount);
  private readonly end = new Int32Array(fieldCount);
  private readonly number = new Float64Array(fieldCount);
  /** Keys (start, end) of the objects open inside stored JSON text. */
  private readonly rawKeys = new Int32Array(MAX_RAW_KEYS * 2);
  private rawKeyTop = 0;
  /** Keys in the object the last `object` call read. */
  private objectKeys = 0;
  /** A string since this was last cleared had an escape. */
  private escaped = false;
  /** The last token issue time read (its bytes) and its UTC form. */
  private readonly lastIssueTime = Buffer.alloc(64);
  private lastIssueTimeLength = -1;
  private lastIssueTimeUtc: string | null = null;

  /**
   * Reads the JSON object `b[start, end)` (`start` at its `{`, as jsonStart finds it). True when the line is an
   * audit entry read completely; false when it must go the general way (which also quarantines what is not an
   * entry). The byte after the line must be its newline, or the buffer's end: scanning relies on it to stop.
   */
  scan(b: Buffer, start: number, end: number): boolean {
    if ((end < b.length && b[end] !== NL) || end - start > MAX_SCANNED_LINE_BYTES || b[start] !== OPEN_BRACE) return false;
    this.b = b;
    this.p = start;
    this.seen.fill(0);
    this.kind.fill(NONE);
    this.rawKeyTop = 0;
    let ok = this.object(TOP_LEVEL, 0, false);
    for (let i = this.p; ok && i < end; i++) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) ok = false;
    }
    ok = ok && this.p <= end && this.build();
    // The cells hold what the caller needs; the buffer (which may be a line of many MiB) is not kept.
    this.b = EMPTY;
    return ok;
  }

  /** At `{`: the object's members, each key looked up in `lvl` (null: none are read). */
  private object(lvl: Level | null, depth: number, raw: boolean): boolean {
    if (depth > MAX_DEPTH) return false;
    const b = this.b;
    let p = this.p + 1;
    if (b[p] === CLOSE_BRACE) {
      this.p = p + 1;
      this.objectKeys = 0;
      return true;
    }
    const keyBase = this.rawKeyTop;
    let keys = 0;
    for (;;) {
      if (b[p] !== QUOTE) return false;
      const keyStart = p + 1;
      this.escaped = false;
      const keyEnd = this.stringEnd(keyStart);
      // An escaped key is not compared with the keys read (nor checked for repeats): the general way reads it.
      if (keyEnd < 0 || this.escaped || b[keyEnd + 1] !== COLON) return false;
      this.p = keyEnd + 2;
      keys++;
      if (raw && !this.rawKey(keyStart, keyEnd, keyBase)) return false;
      const rule = lvl === null ? undefined : this.rule(lvl, keyStart, keyEnd);
      if (!(rule === undefined ? this.value(depth, raw) : this.tracked(rule, depth, raw))) return false;
      p = this.p;
      const c = b[p];
      if (c === COMMA) {
        p++;
        continue;
      }
      if (c !== CLOSE_BRACE) return false;
      this.p = p + 1;
      this.rawKeyTop = keyBase;
      this.objectKeys = keys;
      return true;
    }
  }

  /** At `[`. */
  private array(depth: number, raw: boolean): boolean {
    if (depth > MAX_DEPTH) return false;
    const b = this.b;
    this.p++;
    if (b[this.p] === CLOSE_BRACKET) {
      this.p++;
      return true;
    }
    for (;;) {
      if (!this.value(depth, raw)) return false;
      const c = b[this.p];
      if (c === COMMA) {
        this.p++;
        continue;
      }
      if (c !== CLOSE_BRACKET) return false;
      this.p++;
      return true;
    }
  }

  /** Any value at `p`, checked and skipped. In stored JSON text (`raw`) only its canonical forms. */
  private value(depth: number, raw: boolean): boolean {
    const b = this.b;
    const c = b[this.p]!;
    if (c === QUOTE) {
      this.escaped = false;
      const e = this.stringEnd(this.p + 1);
      // JSON.stringify escapes other characters than Vault (Go writes <, > and & as \u003c, …): stored JSON text
      // with an escape would not be what it gives.
      if (e < 0 || (raw && this.escaped)) return false;
      this.p = e + 1;
      return true;
    }
    if (c === OPEN_BRACE) return this.object(null, depth + 1, raw);
    if (c === OPEN_BRACKET) return this.array(depth + 1, raw);
    if (c === 0x74) return this.literal(TRUE);
    if (c === 0x66) return this.literal(FALSE);
    if (c === 0x6e) return this.literal(NULL);
    if (c === MINUS || (c >= ZERO && c <= NINE)) return raw ? this.integer() !== undefined : this.anyNumber();
    return false;
  }

  /** A key's value that normaliseEntry reads. */
  private tracked(rule: KeyRule, depth: number, raw: boolean): boolean {
    const f = rule.field;
    // JSON.parse keeps a repeated key's last value: not worth following here.
    if (this.seen[f] === 1) return false;
    this.seen[f] = 1;
    const b = this.b;
    const p = this.p;
    const c = b[p];
    switch (rule.as) {
      case AS_OBJECT: {
        if (c === OPEN_BRACE) {
          if (!this.object(rule.level, depth + 1, raw || rule.level!.raw)) return false;
          if (this.objectKeys > 0) this.set(f, p, this.p);
          return true;
        }
        // null is no object; another type is left to the general way.
        return this.literal(NULL);
      }
      case AS_STRING:
      case AS_PATH: {
        if (c !== QUOTE) return this.value(depth, raw);
        this.escaped = false;
        const e = this.stringEnd(p + 1);
        if (e < 0) return false;
        this.p = e + 1;
        if (this.escaped) {
          if (raw || rule.token) return false;
          this.set(f, p + 1, e);
          this.kind[f] = ESCAPED;
          return true;
        }
        if (rule.token && looksLikeToken(b, p + 1, e)) return false;
        if (e > p + 1 || rule.as === AS_PATH) this.set(f, p + 1, e);
        return true;
      }
      case AS_NUMBER: {
        if (c !== MINUS && (c! < ZERO || c! > NINE)) return this.value(depth, raw);
        const n = this.integer();
        if (n === undefined) return false;
        this.kind[f] = NUMBER;
        this.number[f] = n;
        return true;
      }
      case AS_BOOL: {
        if (c === 0x74 || c === 0x66) {
          const yes = c === 0x74;
          if (!this.literal(yes ? TRUE : FALSE)) return false;
          this.kind[f] = NUMBER;
          this.number[f] = yes ? 1 : 0;
          return true;
        }
        return this.value(depth, raw);
      }
      case AS_ARRAY_TEXT: {
        if (c !== OPEN_BRACKET) return this.value(depth, raw);
        if (!this.array(depth + 1, true)) return false;
        if (this.p - p > 2) this.set(f, p, this.p);
        return true;
      }
      case AS_OBJECT_TEXT: {
        if (c !== OPEN_BRACE) return this.value(depth, raw);
        if (!this.object(null, depth + 1, true)) return false;
        if (this.objectKeys > 0) this.set(f, p, this.p);
        return true;
      }
      case AS_HEADER: {
        let s = p + 1;
        if (c === OPEN_BRACKET) {
          if (b[s] !== QUOTE) return this.value(depth, raw);
          s++;
        } else if (c !== QUOTE) {
          return this.value(depth, raw);
        }
        this.escaped = false;
        const e = this.stringEnd(s);
        if (e < 0) return false;
        if (e > s) this.set(f, s, e);
        if (this.escaped) this.kind[f] = ESCAPED;
        return this.value(depth, raw);
      }
      case AS_PRESENT: {
        if (c === 0x6e) return this.literal(NULL);
        if (c === QUOTE && b[p + 1] === QUOTE) {
          this.p = p + 2;
          return true;
        }
        this.kind[f] = NUMBER;
        this.number[f] = 1;
        return this.value(depth, raw);
      }
    }
    return false;
  }

  private set(f: number, start: number, end: number): void {
    this.kind[f] = RANGE;
    this.start[f] = start;
    this.end[f] = end;
  }

  private rule(lvl: Level, keyStart: number, keyEnd: number): KeyRule | undefined {
    const b = this.b;
    const length = keyEnd - keyStart;
    if (length === 0) return undefined;
    const slots = lvl.slots;
    let slot = slotOf(length, b[keyStart]!, b[keyEnd - 1]!);
    outer: for (let r = slots[slot]!; r !== 0; slot = (slot + 1) & (SLOTS - 1), r = slots[slot]!) {
      const rule = lvl.rules[r - 1]!;
      const bytes = rule.bytes;
      if (bytes.length !== length) continue;
      for (let i = 0; i < length; i++) if (bytes[i] !== b[keyStart + i]) continue outer;
      return rule;
    }
    return undefined;
  }

  /**
   * A key inside stored JSON text. JSON.parse keeps one value of a repeated key, and V8 puts integer-like keys
   * first: either way JSON.stringify would write other text than the line's.
   */
  private rawKey(keyStart: number, keyEnd: number, keyBase: number): boolean {
    const b = this.b;
    const length = keyEnd - keyStart;
    let digits = length > 0;
    for (let i = keyStart; i < keyEnd && digits; i++) digits = b[i]! >= ZERO && b[i]! <= NINE;
    if (digits) return false;
    const keys = this.rawKeys;
    outer: for (let k = keyBase; k < this.rawKeyTop; k += 2) {
      const s = keys[k]!;
      if (keys[k + 1]! - s !== length) continue;
      for (let i = 0; i < length; i++) if (b[s + i] !== b[keyStart + i]) continue outer;
      return false;
    }
    if (this.rawKeyTop === keys.length || this.rawKeyTop - keyBase >= MAX_OBJECT_RAW_KEYS * 2) return false;
    keys[this.rawKeyTop++] = keyStart;
    keys[this.rawKeyTop++] = keyEnd;
    return true;
  }

  /**
   * Where the string starting at `s` (after its quote) ends (its closing quote); -1 for what the general way
   * reads (bytes that are not ASCII) or rejects (control characters, a bad escape). Notes an escape in `escaped`.
   */
  private stringEnd(s: number): number {
    const b = this.b;
    let i = s;
    for (;;) {
      while (PLAIN[b[i]!] === 1) i++;
      if (b[i] === QUOTE) return i;
      if (b[i] !== BACKSLASH) return -1;
      const x = b[i + 1]!;
      if (SIMPLE_ESCAPE[x] === 1) i += 2;
      else if (x === 0x75 && HEX[b[i + 2]!] === 1 && HEX[b[i + 3]!] === 1 && HEX[b[i + 4]!] === 1 && HEX[b[i + 5]!] === 1) i += 6;
      else return -1;
      this.escaped = true;
    }
  }

  private literal(word: Buffer): boolean {
    const b = this.b;
    const p = this.p;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return false;
    this.p = p + word.length;
    return true;
  }

  /** An integer JSON.parse reads exactly and JSON.stringify writes back the same; undefined for any other number. */
  private integer(): number | undefined {
    const b = this.b;
    let i = this.p;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    while (b[i]! >= ZERO && b[i]! <= NINE) n = n * 10 + (b[i++]! - ZERO);
    const digits = i - first;
    // No digits, a leading zero ("01", and -0, which JSON.stringify writes as 0), too many, or a fraction or exponent.
    if (digits === 0 || digits > MAX_INTEGER_DIGITS || (b[first] === ZERO && (digits > 1 || negative))) return undefined;
    const c = b[i];
    if (c === 0x2e || c === 0x65 || c === 0x45) return undefined;
    this.p = i;
    return negative ? -n : n;
  }

  /** Any JSON number (RFC 8259 grammar), skipped. */
  private anyNumber(): boolean {
    const b = this.b;
    let i = this.p;
    if (b[i] === MINUS) i++;
    if (b[i] === ZERO) i++;
    else if (b[i]! >= 0x31 && b[i]! <= NINE) while (b[i]! >= ZERO && b[i]! <= NINE) i++;
    else return false;
    if (b[i] === 0x2e) {
      i++;
      if (!(b[i]! >= ZERO && b[i]! <= NINE)) return false;
      while (b[i]! >= ZERO && b[i]! <= NINE) i++;
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === MINUS) i++;
      if (!(b[i]! >= ZERO && b[i]! <= NINE)) return false;
      while (b[i]! >= ZERO && b[i]! <= NINE) i++;
    }
    this.p = i;
    return true;
  }

  /** A field's string, decoded (tests, and values that are read as strings: times). */
  private str(f: number): string | null {
    const kind = this.kind[f];
    if (kind === RANGE) return latin1(this.b, this.start[f]!, this.end[f]!);
    // With its quotes: JSON.parse decodes the escapes as it would in the whole line.
    if (kind === ESCAPED) return JSON.parse(latin1(this.b, this.start[f]! - 1, this.end[f]! + 1)) as string;
    return null;
  }

  private equals(f: number, word: Buffer): boolean {
    const s = this.start[f]!;
    if (this.kind[f] !== RANGE || this.end[f]! - s !== word.length) return false;
    for (let i = 0; i < word.length; i++) if (this.b[s + i] !== word[i]) return false;
    return true;
  }

  /** Column `c` takes field `f`'s value (null when it has none). */
  private cell(c: number, f: number): void {
    const kind = this.kind[f]!;
    const cells = this.cells;
    if (kind === RANGE) {
      cells.kinds[c] = CELL_RANGE;
      cells.starts[c] = this.start[f]!;
      cells.ends[c] = this.end[f]!;
    } else if (kind === NUMBER) {
      this.number_(c, this.number[f]!);
    } else if (kind === ESCAPED) {
      this.string_(c, this.str(f)!);
    } else {
      cells.kinds[c] = CELL_NULL;
    }
  }

  /** Column `c` takes the first of fields `f` and `g` that has a value (mount fields, correlation id). */
  private cellEither(c: number, f: number, g: number): void {
    this.cell(c, this.kind[f] !== NONE ? f : g);
  }

  private number_(c: number, n: number): void {
    this.cells.kinds[c] = CELL_NUMBER;
    this.cells.numbers[c] = n;
  }

  private string_(c: number, v: string | null): void {
    if (v === null) {
      this.cells.kinds[c] = CELL_NULL;
      return;
    }
    this.cells.kinds[c] = CELL_STRING;
    this.cells.strings[c] = v;
  }

  /**
   * The token's issue time in UTC (normaliseEntry's issueTimeUtc). It repeats on every request the token makes:
   * compared by its bytes with the last one, it is converted once per token.
   */
  private issueTime(): string | null {
    const kind = this.kind[A.issueTime];
    if (kind === NONE) return null;
    if (kind === ESCAPED) return issueTimeUtc(this.str(A.issueTime));
    const s = this.start[A.issueTime]!;
    const length = this.end[A.issueTime]! - s;
    const last = this.lastIssueTime;
    if (length === this.lastIssueTimeLength && length <= last.length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = last[i] === this.b[s + i];
      if (same) return this.lastIssueTimeUtc;
    }
    const utc = issueTimeUtc(latin1(this.b, s, s + length));
    if (length <= last.length) {
      this.b.copy(last, 0, s, s + length);
      this.lastIssueTimeLength = length;
      this.lastIssueTimeUtc = utc;
    }
    return utc;
  }

  /** The values, as normaliseEntry gives them (same order, same rules); false when the line is no audit entry. */
  private build(): boolean {
    const type = this.equals(TYPE, REQUEST_BYTES) ? 'request' : this.equals(TYPE, RESPONSE_BYTES) ? 'response' : null;
    if (type === null || this.kind[TIME] !== RANGE) return false;
    const time = this.str(TIME)!;
    const timeKey = toTimeKey(time);
    if (timeKey === null) return false;
    this.time = time;
    this.timeKey = timeKey;
    const cells = this.cells;
    this.cell(C.request_id, REQ_ID);
    this.string_(C.type, type);
    this.cell(C.time, TIME);
    // A time with nine fractional digits is its own key (toTimeKey gives it back): the packer then stores it once.
    if (timeKey === time) this.cell(C.time_key, TIME);
    else this.string_(C.time_key, timeKey);
    this.cell(C.operation, OPERATION);
    this.cell(C.path, PATH);
    this.cell(C.namespace_id, NAMESPACE_ID);
    this.cell(C.namespace_path, NAMESPACE_PATH);
    this.cellEither(C.mount_point, REQ_MOUNT.point, RESP_MOUNT.point);
    this.cellEither(C.mount_type, REQ_MOUNT.type, RESP_MOUNT.type);
    this.cellEither(C.mount_accessor, REQ_MOUNT.accessor, RESP_MOUNT.accessor);
    this.cellEither(C.mount_class, REQ_MOUNT.class, RESP_MOUNT.class);
    this.cell(C.remote_address, REMOTE_ADDRESS);
    this.cell(C.remote_port, REMOTE_PORT);
    this.cell(C.display_name, A.displayName);
    this.cell(C.entity_id, A.entityId);
    this.cell(C.token_type, A.tokenType);
    this.cell(C.token_ttl, A.tokenTtl);
    this.string_(C.token_issue_time, this.issueTime());
    this.cell(C.policies, A.policies);
    this.cell(C.token_policies, A.tokenPolicies);
    this.cell(C.metadata, A.metadata);
    this.cellEither(C.correlation_id, X_CORRELATION_ID, CORRELATION_ID);
    this.cell(C.error, ERROR);
    this.number_(C.response_error, this.kind[RESP_DATA_ERROR] === NUMBER ? 1 : 0);
    this.cell(C.issued_display_name, RA.displayName);
    this.cell(C.issued_entity_id, RA.entityId);
    this.cell(C.issued_token_type, RA.tokenType);
    this.cell(C.issued_token_ttl, RA.tokenTtl);
    this.cell(C.issued_policies, RA.policies);
    this.cell(C.issued_metadata, RA.metadata);
    this.cell(C.issued_num_uses, RA.numUses);
    this.cell(C.issued_orphan, RA.orphan);
    this.cell(C.lease_id, LEASE_ID);
    if (this.kind[REQ_DATA] === RANGE && this.end[REQ_DATA]! - this.start[REQ_DATA]! <= MAX_REQUEST_DATA_BYTES) this.cell(C.request_data, REQ_DATA);
    else cells.kinds[C.request_data] = CELL_NULL;
    this.cell(C.warnings, WARNINGS);
    const idKind = this.kind[REQ_ID];
    if (idKind === RANGE) this.number_(C.request_key, asciiRequestKey(this.b, this.start[REQ_ID]!, this.end[REQ_ID]!, type));
    else if (idKind === ESCAPED) this.number_(C.request_key, requestKey(this.str(REQ_ID)!, type));
    else cells.kinds[C.request_key] = CELL_NULL;
    const h = ENTRY_COLUMNS.length;
    this.cell(h + 0, A.accessor);
    this.cell(h + 1, A.clientToken);
    this.cell(h + 2, REQ_CLIENT_TOKEN);
    this.cell(h + 3, REQ_CLIENT_TOKEN_ACCESSOR);
    this.cell(h + 4, RA.accessor);
    this.cell(h + 5, RA.clientToken);
    this.cell(h + 6, DATA_TOKEN);
    this.cell(h + 7, DATA_ACCESSOR);
    this.cell(h + 8, DATA_LEASE_ID);
    return true;
  }

  /** The last scanned line's values as normaliseEntry gives them (tests, diagnostics); `source` is the buffer scanned. */
  values(source: Buffer): { entry: unknown[]; hmacs: unknown[] } {
    const { kinds, starts, ends, numbers, strings } = this.cells;
    const values = Array.from(kinds, (kind, c) =>
      kind === CELL_RANGE ? latin1(source, starts[c]!, ends[c]!) : kind === CELL_NUMBER ? numbers[c] : kind === CELL_STRING ? strings[c] : null,
    );
    return { entry: values.slice(0, ENTRY_COLUMNS.length), hmacs: values.slice(ENTRY_COLUMNS.length) };
  }
}

/**
 * Whether a string could be a clear Vault token (redact.ts: `hv[sbr].…` or `[sbr].…`). Vault's HMACs
 * (`hmac-sha256:…`) never are; anything that might be goes the general way, which decides with looksLogRaw.
 */
function looksLikeToken(b: Buffer, s: number, e: number): boolean {
  if (e - s < 2) return false;
  const c0 = b[s];
  const c1 = b[s + 1];
  return (c0 === 0x68 && c1 === 0x76) || (c1 === 0x2e && (c0 === 0x73 || c0 === 0x62 || c0 === 0x72));
}
