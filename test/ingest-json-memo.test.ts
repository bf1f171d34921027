import { describe, expect, it } from 'vitest';
import { JsonTextMemo } from '../ingest/json-memo.js';

/** What normalise stored before the memo: JSON text of a non-empty object or array, else null. */
const objectText = (v: unknown): string | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 ? JSON.stringify(v) : null;
const arrayText = (v: unknown): string | null => (Array.isArray(v) && v.length > 0 ? JSON.stringify(v) : null);

describe('JSON text memo for repeated metadata and policies', () => {
  it('gives a job\'s token metadata the same text on every line that carries it', () => {
    const memo = new JsonTextMemo();
    const text = '{"job_id":"900000","project_path":"acme/service-111","ref":"main"}';
    for (let line = 0; line < 3; line++) expect(memo.object(JSON.parse(text))).toBe(text);
  });

  it('gives JSON.stringify\'s text for every value of a mixed stream, never a stale one', () => {
    const objects: unknown[] = [
      { job_id: '1', ref: 'main' },
      { job_id: '1', ref: 'main' },
      { job_id: '2', ref: 'main' },
      { ref: 'main', job_id: '2' }, // same pairs, other order: other text
      { job_id: '2', ref: 'main', extra: 'x' },
      { job_id: '2', ref: 'main' },
      { job_id: 2, ref: 'main' }, // a number where the string was
      { '1': 'a', b: 'c' }, // integer-like keys come first in JSON.stringify
      { '1': 'a', b: 'c' },
      { nested: { a: 1 } },
      { nested: { a: 2 } }, // nested values are never matched
      { nested: { a: 2 } },
      { flag: true, n: null, x: 1.5 },
      { flag: true, n: null, x: 1.5 },
      { flag: false, n: null, x: 1.5 },
      {},
      [],
      ['default'],
      null,
      'text',
      { job_id: '1', ref: 'main' },
    ];
    const memo = new JsonTextMemo();
    for (const v of objects) expect(memo.object(v)).toBe(objectText(v));

    const arrays: unknown[] = [
      ['default', 'ci-111-read'],
      ['default', 'ci-111-read'],
      ['default', 'ci-112-read'],
      ['ci-112-read', 'default'],
      ['default'],
      ['default', 'ci-112-read', 'x'],
      [1, 2],
      ['1', '2'],
      [{ a: 1 }],
      [{ a: 2 }],
      [],
      { 0: 'default' },
      null,
      ['default'],
    ];
    const lists = new JsonTextMemo();
    for (const v of arrays) expect(lists.array(v)).toBe(arrayText(v));
  });

  it('keeps no reference that a later change to the caller\'s array could make stale', () => {
    const memo = new JsonTextMemo();
    const policies = ['default', 'ci-111-read'];
    expect(memo.array(policies)).toBe('["default","ci-111-read"]');
    policies[1] = 'ci-999-read';
    expect(memo.array(policies)).toBe('["default","ci-999-read"]');
  });
});
