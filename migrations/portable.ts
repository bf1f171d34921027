import { PostgresAdapter, type Kysely } from 'kysely';

/** Binary column type for the running dialect: migrations stay portable between SQLite and PostgreSQL. */
export function binaryType(db: Kysely<unknown>): 'blob' | 'bytea' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
}

/** Auto-increment primary key for the running dialect. */
export function serialType(db: Kysely<unknown>): 'integer' | 'serial' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'serial' : 'integer';
}
