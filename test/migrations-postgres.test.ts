import { describe, expect, it } from 'vitest';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import { migrations } from '../migrations/index.js';

/** Records every statement a migration sends, compiled for PostgreSQL, without a server (none runs here). */
class RecordingDriver extends DummyDriver implements Driver {
  readonly statements: string[] = [];
  override async acquireConnection(): Promise<DatabaseConnection> {
    const statements = this.statements;
    return {
      async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
        statements.push(query.sql);
        return { rows: [] };
      },
      // eslint-disable-next-line require-yield
      async *streamQuery() {
        throw new Error('not used by migrations');
      },
    };
  }
}

describe('migrations compiled for PostgreSQL', () => {
  it('use serial keys and bytea, never SQLite-only AUTOINCREMENT or blob (checked by hand against PostgreSQL 15)', async () => {
    const driver = new RecordingDriver();
    const db = new Kysely<unknown>({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => driver,
        createIntrospector: (k) => new PostgresIntrospector(k),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    });
    for (const m of Object.values(migrations)) await m.up(db);
    const all = driver.statements.filter((q) => /^(create|alter)\b/i.test(q)).join('\n');
    expect(all).toMatch(/"id" serial primary key/);
    expect(all).toMatch(/ bytea/);
    expect(all).not.toMatch(/autoincrement|auto_increment/i);
    expect(all).not.toMatch(/ blob\b/i);
  });
});
