import type { KeytrailDb } from './connection.js';

export interface PruneSummary {
  before: string;
  entries: number;
  copies: number;
  accesses: number;
  tokens: number;
  leases: number;
  server_events: number;
  quarantine: number;
  batches_emptied: number;
}

/**
 * Drops audit rows older than a UTC day while keeping what proves what was ingested: every batch row stays
 * with its SHA-256 and chain hash (only its stored bytes go), findings and the record of packs stay, and a
 * pack already written verifies from its own files. Runs in one transaction: a crash leaves all or nothing.
 */
export async function pruneBefore(handle: KeytrailDb, day: string): Promise<PruneSummary> {
  const cutoff = `${day}T00:00:00.000000000Z`;
  return handle.db.transaction().execute(async (trx) => {
    const count = (r: { numDeletedRows?: bigint; numUpdatedRows?: bigint }[]) =>
      Number(r.reduce((n, x) => n + (x.numDeletedRows ?? x.numUpdatedRows ?? 0n), 0n));

    const accesses = count(await trx.deleteFrom('accesses').where('time_key', '<', cutoff).execute());
    const leases = count(
      await trx.deleteFrom('leases').where('ended_at', 'is not', null).where('ended_at', '<', cutoff.slice(0, 19) + 'Z').execute(),
    );
    const oldTokens = trx
      .selectFrom('tokens')
      .select('id')
      .where('ends_at', 'is not', null)
      .where('ends_at', '<', cutoff.slice(0, 19) + 'Z')
      .where('id', 'not in', trx.selectFrom('leases').select('token_id').where('token_id', 'is not', null));
    await trx.deleteFrom('token_hmacs').where('token_id', 'in', oldTokens).execute();
    const tokens = count(
      await trx
        .deleteFrom('tokens')
        .where('ends_at', 'is not', null)
        .where('ends_at', '<', cutoff.slice(0, 19) + 'Z')
        .where('id', 'not in', trx.selectFrom('leases').select('token_id').where('token_id', 'is not', null))
        .execute(),
    );
    // Copies: the later devices' copies by their own time, then the entries (each with its first copy) that
    // no copy refers to any more.
    const extraCopies = count(await trx.deleteFrom('audit_extra_copies').where('time_key', '<', cutoff).execute());
    const entries = count(
      await trx
        .deleteFrom('audit_entries')
        .where('time_key', '<', cutoff)
        .where('id', 'not in', trx.selectFrom('audit_extra_copies').select('entry_id'))
        .execute(),
    );
    const copies = extraCopies + entries;
    const server_events = count(await trx.deleteFrom('server_events').where('time_key', '<', cutoff).execute());
    const quarantine = count(await trx.deleteFrom('quarantine').where('created_at', '<', cutoff.slice(0, 19) + 'Z').execute());
    const batches_emptied = count(
      await trx
        .updateTable('ingest_batches')
        .set({ raw_bytes: null })
        .where('raw_bytes', 'is not', null)
        .where('last_time_key', '<', cutoff)
        .where('id', 'not in', trx.selectFrom('audit_copies').select('batch_id'))
        .execute(),
    );
    return { before: day, entries, copies, accesses, tokens, leases, server_events, quarantine, batches_emptied };
  });
}
