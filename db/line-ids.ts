import type Database from 'better-sqlite3';

/**
 * Every stored audit line has an id from one sequence shared by `audit_entries` (the line that stored an entry,
 * with its first copy) and `audit_extra_copies` (a later device's copy), in ingest order (migration 0006); it is
 * also the line's id in the `audit_copies` view. Returns a reader of the highest id used so far (0 when none):
 * a MAX over the view itself would scan every copy.
 */
export function lastLineIdReader(sqlite: Database.Database): () => number {
  const stmt = sqlite
    .prepare('SELECT max(coalesce((SELECT max(id) FROM audit_entries), 0), coalesce((SELECT max(id) FROM audit_extra_copies), 0))')
    .pluck();
  return () => stmt.get() as number;
}
