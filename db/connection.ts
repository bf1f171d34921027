import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import { migrations } from '../migrations/index.js';
import type { Database as Schema } from './schema/index.js';
import { UsageError, KeytrailError } from './errors.js';

export interface OpenOptions {
  /** Apply pending migrations (default true: they run on every open). */
  migrate?: boolean;
  readonly?: boolean;
  /**
   * Told the names of the migrations an existing database is about to be upgraded with, before they run: some
   * rewrite every audit entry and take minutes on a large database, so the caller can say why it waits.
   */
  onMigrate?: (pending: string[]) => void;
}

export interface KeytrailDb {
  db: Kysely<Schema>;
  /** The underlying better-sqlite3 handle, for prepared hot-path statements and transactions. */
  sqlite: Database.Database;
  path: string;
  close(): Promise<void>;
}

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

export function isPostgresUrl(path: string): boolean {
  return /^postgres(ql)?:\/\//i.test(path);
}

/**
 * Opens the database (WAL, foreign keys, busy timeout) and applies pending migrations.
 * PostgreSQL URLs are reserved until that dialect lands.
 */
export async function openDatabase(path: string, options: OpenOptions = {}): Promise<KeytrailDb> {
  if (isPostgresUrl(path)) throw new UsageError('PostgreSQL support is not available yet');
  let sqlite: Database.Database;
  try {
    sqlite = new Database(path, { readonly: options.readonly ?? false });
  } catch (err) {
    throw new KeytrailError(`cannot open database ${path}: ${(err as Error).message}`);
  }
  if (!options.readonly) choosePageSize(sqlite);
  if (!options.readonly) sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const handle: KeytrailDb = {
    db,
    sqlite,
    path,
    close: async () => {
      await db.destroy();
    },
  };
  if (options.migrate !== false && !options.readonly) {
    if (options.onMigrate) {
      const all = await migrator(handle).getMigrations();
      const pending = all.filter((m) => m.executedAt === undefined).map((m) => m.name);
      // A new database has nothing to rewrite: only an upgrade is told.
      if (pending.length > 0 && pending.length < all.length) options.onMigrate(pending);
    }
    await migrateToLatest(handle);
  }
  return handle;
}

/**
 * Page size of a new database (an existing one keeps its own: SQLite changes it only when empty). Audit rows
 * are about 1 KB and appended in id order: 16 KiB pages hold ~15 of them, so SQLite balances and logs to the
 * WAL a quarter as many pages as with its 4 KiB default, with less slack at each page's end. Measured on 500k
 * real rows: ~15% less CPU to ingest and a ~10% smaller file (bench/results/ingest.md, round 7).
 */
export const NEW_DATABASE_PAGE_SIZE = 16384;

function choosePageSize(sqlite: Database.Database): void {
  if ((sqlite.pragma('page_count', { simple: true }) as number) === 0) sqlite.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
}

function migrator(handle: KeytrailDb): Migrator {
  return new Migrator({ db: handle.db, provider: new StaticMigrationProvider() });
}

export async function migrateToLatest(handle: KeytrailDb): Promise<MigrationResultSet> {
  const result = await migrator(handle).migrateToLatest();
  if (result.error) {
    throw new KeytrailError(`database migration failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return result;
}

export interface MigrationStatus {
  name: string;
  applied: boolean;
  executed_at: string | null;
}

export async function migrationStatus(handle: KeytrailDb): Promise<MigrationStatus[]> {
  const list = await migrator(handle).getMigrations();
  return list.map((m) => ({
    name: m.name,
    applied: m.executedAt !== undefined,
    executed_at: m.executedAt ? m.executedAt.toISOString() : null,
  }));
}
