/**
 * `detections.mute`: a finding matching an active entry is kept with status `muted` and the entry's reason
 * and owner. An entry past its `expires` no longer applies, so its findings become open again.
 */
import picomatch from 'picomatch';
import type { MuteSetting } from './settings.js';
import { FINDING_FIELDS, findingRow, type FindingRecord } from './row.js';
import { UsageError } from '../../db/errors.js';

export interface ActiveMute {
  reason: string;
  owner: string;
}

/** The end of a mute: a date means through the end of that UTC day; a time is taken as given. */
export function muteExpiry(expires: string | Date | undefined): number | null {
  if (expires === undefined || expires === null || expires === '') return null;
  if (expires instanceof Date) {
    const ms = expires.getTime();
    return ms % 86_400_000 === 0 ? ms + 86_400_000 - 1 : ms;
  }
  const text = String(expires).trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return Date.parse(`${text}T23:59:59.999Z`);
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

function matches(glob: string, value: unknown): boolean {
  if (value === null || value === undefined) return false;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text === glob || picomatch.isMatch(text, glob, { dot: true });
}

/** Rejects a mute that could never match (a misspelt field would silently mute nothing). */
export function validateMutes(entries: MuteSetting[]): void {
  for (const [i, m] of entries.entries()) {
    if (!m || !m.rule || !m.reason || !m.owner) throw new UsageError(`config: detections.mute[${i}] needs rule, reason and owner`);
    for (const key of Object.keys(m.match ?? {})) {
      if (!(FINDING_FIELDS as readonly string[]).includes(key)) {
        throw new UsageError(`config: detections.mute[${i}].match has unknown field "${key}" (finding fields: ${FINDING_FIELDS.join(', ')})`);
      }
    }
    if (m.expires !== undefined && m.expires !== null && String(m.expires) !== '' && muteExpiry(m.expires) === null) {
      throw new UsageError(`config: detections.mute[${i}].expires is not a date: ${String(m.expires)}`);
    }
  }
}

/** Returns a function giving the first active mute entry for a finding, or null. */
export function muteMatcher(entries: MuteSetting[], now: Date): (f: FindingRecord) => ActiveMute | null {
  validateMutes(entries);
  const active = entries.filter((m) => {
    const end = muteExpiry(m.expires);
    return end === null || end >= now.getTime();
  });
  return (f: FindingRecord) => {
    if (active.length === 0) return null;
    const row = findingRow(f) as unknown as Record<string, unknown>;
    for (const m of active) {
      if (!matches(String(m.rule), f.rule)) continue;
      const conditions = Object.entries(m.match ?? {});
      if (conditions.every(([key, glob]) => matches(String(glob), row[key]))) return { reason: m.reason, owner: m.owner };
    }
    return null;
  };
}
