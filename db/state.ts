import type { Kysely } from 'kysely';
import type { Database } from './schema/index.js';

/** Reads one value of the shared key/value state. */
export async function getState(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('state').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Writes one value of the shared key/value state (upsert). */
export async function setState(db: Kysely<Database>, key: string, value: string): Promise<void> {
  const updated_at = new Date().toISOString();
  await db
    .insertInto('state')
    .values({ key, value, updated_at })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at }))
    .execute();
}
