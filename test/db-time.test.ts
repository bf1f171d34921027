import { describe, expect, it } from 'vitest';
import { timeKeyByPattern, toTimeKey } from '../db/time.js';

describe('time keys: Vault times of any precision sort as text', () => {
  it('pads 0 to 9 fractional digits of a UTC time to nine, and keeps a nine-digit time as it is', () => {
    expect(toTimeKey('2026-03-02T08:00:01Z')).toBe('2026-03-02T08:00:01.000000000Z');
    expect(toTimeKey('2026-03-02T08:00:01.5Z')).toBe('2026-03-02T08:00:01.500000000Z');
    expect(toTimeKey('2026-03-02T08:00:01.00881319Z')).toBe('2026-03-02T08:00:01.008813190Z');
    expect(toTimeKey('2026-03-02T08:00:01.008813192Z')).toBe('2026-03-02T08:00:01.008813192Z');
    expect(toTimeKey('2026-03-02T08:00:01.5Z')! < toTimeKey('2026-03-02T08:00:01.51Z')!).toBe(true);
  });

  it('converts a time with an offset to UTC, and refuses what is not RFC 3339', () => {
    expect(toTimeKey('2026-03-02T09:00:01.25+01:00')).toBe('2026-03-02T08:00:01.250000000Z');
    expect(toTimeKey('2026-03-02 08:00:01z')).toBe('2026-03-02T08:00:01.000000000Z');
    for (const bad of ['', 'yesterday', '2026-03-02T08:00:01', '2026-03-02T08:00:01.Z', '2026-03-02T08:00:01.1234567890Z', '2026-03-0xT08:00:01Z', '2026-03-02T08-00:01Z']) {
      expect(toTimeKey(bad)).toBeNull();
    }
  });

  it('reads Vault\'s UTC form as the general RFC 3339 path does, for every form and every single-character change of one', () => {
    const seeds = ['2026-03-02T08:00:01Z', '2026-03-02T08:00:01.5Z', '2026-03-02T08:00:01.008813192Z', '2026-03-02T09:00:01.25+01:00'];
    const alphabet = ['0', '9', 'x', 'Z', 'z', 'T', 't', ' ', '-', ':', '.', '+'];
    let checked = 0;
    for (const seed of seeds) {
      for (let i = 0; i <= seed.length; i++) {
        for (const c of alphabet) {
          for (const variant of [seed.slice(0, i) + c + seed.slice(i + 1), seed.slice(0, i) + c + seed.slice(i), seed.slice(0, i) + seed.slice(i + 1)]) {
            expect(toTimeKey(variant), variant).toBe(timeKeyByPattern(variant));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });
});
