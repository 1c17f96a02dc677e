import { type Kysely, sql } from 'kysely';
import { limitKey } from '../../address-limit.js';

/**
 * A ban's address is now kept as the guest join limit counts addresses (`limitKey`: an IPv6 one as
 * its /64, an IPv4-mapped one as the IPv4 address), and joins are matched by that key: the bans
 * made before are rewritten to it, so they keep matching.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const rows = await sql<{ id: string; address: string }>`select id, address from talk_bans where address is not null`.execute(db);
  for (const { id, address } of rows.rows) {
    const key = limitKey(address);
    if (key !== address) await sql`update talk_bans set address = ${key} where id = ${id}`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The raw addresses are not kept: a ban keeps its key.
}
