import type Database from 'better-sqlite3';

/**
 * Updates only the columns of a row whose values changed. Rewriting a column with the value it already holds
 * still rewrites that column's entries in every index that covers it; the correlator rewrites access and token
 * rows as new evidence arrives, and usually only one or two of their columns change. One prepared statement
 * per set of changed columns (column names come from the caller's constant list, never from data).
 */
export class ColumnUpdates {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly sqlite: Database.Database,
    private readonly table: string,
    private readonly keyColumn: string,
    private readonly columns: readonly string[],
  ) {}

  /** Writes the values (in `columns` order) that differ from `before` (all of them when it is unknown). */
  write(key: unknown, values: readonly unknown[], before: readonly unknown[] | undefined): void {
    const changed: number[] = [];
    for (let i = 0; i < values.length; i++) if (!before || values[i] !== before[i]) changed.push(i);
    if (changed.length === 0) return;
    const signature = changed.join(',');
    let update = this.statements.get(signature);
    if (!update) {
      const set = changed.map((i) => `${this.columns[i]} = ?`).join(', ');
      update = this.sqlite.prepare(`UPDATE ${this.table} SET ${set} WHERE ${this.keyColumn} = ?`);
      this.statements.set(signature, update);
    }
    update.run([...changed.map((i) => values[i]), key]);
  }
}
