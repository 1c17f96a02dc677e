import { type Kysely, sql } from 'kysely';

/**
 * A talk may set how many listeners hear it over WebRTC before the next ones get its audience
 * stream (src/rooms: the audience tier of hosted_events talks); null keeps the server's
 * AUDIENCE_WEBRTC_LISTENERS.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks add column webrtc_listener_limit integer`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks drop column webrtc_listener_limit`.execute(db);
}
