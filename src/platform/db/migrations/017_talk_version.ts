import { type Kysely, sql } from 'kysely';

/**
 * A talk row counts its writes, so an open room tells the later of two rows it is given (an edit
 * through this node's API, a re-read after another node's change) whatever order they come in and
 * however close in time they were written (src/rooms/service.ts, talkUpdated and reloadTalks).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks add column version integer not null default 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks drop column version`.execute(db);
}
