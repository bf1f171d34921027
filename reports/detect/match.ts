/** Small matchers used by the rules: path globs, CIDR ranges and business hours. */
import picomatch from 'picomatch';
import { isIP } from 'node:net';

/** Path globs of CONTRACT.md: `*` does not cross `/`, `**` does. */
export function globMatcher(globs: string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  const m = picomatch(globs, { dot: true });
  return (path: string) => m(path);
}

/** The owner of a path per `detections.path_owners` (first matching glob in file order), or null. */
export function ownerMatcher(owners: Record<string, string>): (path: string) => string | null {
  const entries = Object.entries(owners).map(([glob, owner]) => ({ test: picomatch(glob, { dot: true }), owner: String(owner) }));
  return (path: string) => entries.find((e) => e.test(path))?.owner ?? null;
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    text = text.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headParts = head ? head.split(':').filter((p) => p !== '') : [];
  const tailParts = tail ? tail.split(':').filter((p) => p !== '') : [];
  const missing = 8 - headParts.length - tailParts.length;
  const parts = tail === undefined ? headParts : [...headParts, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(parseInt(part, 16) || 0), 0n);
}

interface Range {
  family: 4 | 6;
  base: bigint;
  mask: bigint;
}

function parseCidr(cidr: string): Range | null {
  const [addr, bitsText] = cidr.trim().split('/');
  const family = isIP(addr ?? '');
  if (family === 0) return null;
  const width = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > width) return null;
  const value = family === 4 ? ipv4ToBigInt(addr!) : ipv6ToBigInt(addr!);
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { family: family as 4 | 6, base: value & mask, mask };
}

/** Address → inside any of the ranges. Invalid ranges are ignored; an address that is not an IP is outside. */
export function cidrMatcher(cidrs: string[]): (address: string) => boolean {
  const ranges = cidrs.map(parseCidr).filter((r): r is Range => r !== null);
  return (address: string) => {
    let a = address.trim();
    if (a.startsWith('[') && a.includes(']')) a = a.slice(1, a.indexOf(']'));
    const family = isIP(a);
    if (family === 0) return false;
    const value = family === 4 ? ipv4ToBigInt(a) : ipv6ToBigInt(a);
    // An IPv4-mapped IPv6 address also matches IPv4 ranges.
    const mapped = family === 6 && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? ipv4ToBigInt(a.slice(7)) : null;
    return ranges.some(
      (r) => (r.family === family && (value & r.mask) === r.base) || (mapped !== null && r.family === 4 && (mapped & r.mask) === r.base),
    );
  };
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function minutesOf(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(String(hhmm).trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
}

/**
 * True when the instant falls inside business hours (`days` like mon..fri, `start`/`end` HH:MM in `timezone`).
 * An end before the start spans midnight.
 */
export function businessHoursMatcher(hours: { timezone: string; days: string[]; start: string; end: string }): (millis: number) => boolean {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone: hours.timezone || 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  } catch {
    format = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }
  const days = new Set((hours.days ?? []).map((d) => String(d).slice(0, 3).toLowerCase()));
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  return (millis: number) => {
    const parts = Object.fromEntries(format.formatToParts(new Date(millis)).map((p) => [p.type, p.value]));
    const day = String(parts.weekday ?? '').slice(0, 3).toLowerCase();
    const minute = Number(parts.hour) * 60 + Number(parts.minute);
    if (!DAY_NAMES.includes(day)) return false;
    if (start <= end) return days.has(day) && minute >= start && minute < end;
    // Overnight shift: the part after midnight belongs to the previous day's shift.
    if (minute >= start) return days.has(day);
    const previous = DAY_NAMES[(DAY_NAMES.indexOf(day) + 6) % 7]!;
    return minute < end && days.has(previous);
  };
}
