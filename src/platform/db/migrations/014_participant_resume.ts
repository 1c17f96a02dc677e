import { type Kysely, sql } from 'kysely';

/**
 * A participant comes back as the same one after their room's node restarted or another node took
 * the room over: the hash of their resume secret is kept with them (the secret itself only in their
 * page), and `rejoined_at` says when they came back (other nodes list who is present by it).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table talk_participants add column resume_hash text;
    alter table talk_participants add column rejoined_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talk_participants drop column resume_hash; alter table talk_participants drop column rejoined_at;`.execute(db);
}
