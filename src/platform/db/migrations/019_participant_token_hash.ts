import { type Kysely, sql } from 'kysely';

/**
 * A participant who came in with a join link keeps its hash: one who comes back to a room reopened
 * after a restart or a move carries no link (the page drops it once joined), and a removal then
 * must still ban the link, or opening it again would let them back in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talk_participants add column token_hash text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talk_participants drop column token_hash`.execute(db);
}
