import { type Kysely, sql } from 'kysely';

/**
 * Each talk's live audience stream is at a URL with a key only the partner's API gives out
 * (`hls_url`), so a private talk's audio cannot be listened to by guessing its short code.
 * Existing talks get a key each (a volatile default is evaluated per row).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks add column stream_key text not null default replace(gen_random_uuid()::text, '-', '')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks drop column stream_key`.execute(db);
}
