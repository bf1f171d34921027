import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type Kysely, type RawBuilder } from 'kysely';

/** Binary column type for the running dialect: migrations stay portable between SQLite and PostgreSQL. */
export function binaryType(db: Kysely<unknown>): 'blob' | 'bytea' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
}

/** Auto-increment primary key for the running dialect: the column type (serialType) and its constraints. */
export function serialType(db: Kysely<unknown>): 'integer' | 'serial' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'serial' : 'integer';
}

/**
 * An integer parameter inside VALUES: PostgreSQL reads an untyped one as text, so it gets a cast there; SQLite
 * gets the bare parameter (a cast made its UPDATE … FROM (VALUES …) materialise and run eight times slower).
 */
export function bigintValue(db: Kysely<unknown>, value: number): RawBuilder<number> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql<number>`CAST(${value} AS bigint)` : sql<number>`${value}`;
}

/** The constraints of an auto-increment primary key: SQLite says AUTOINCREMENT; PostgreSQL's serial type is it. */
export function autoIncrementKey(db: Kysely<unknown>): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  return (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement());
}
