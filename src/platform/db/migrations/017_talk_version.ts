import { type Kysely, sql } from 'kysely';

/**
 * A talk row counts its writes, so an open room tells the later of two rows it is given (an edit
 * through this node's API, a re-read after another node's change) whatever order they come in and
 * however close in time they were written (src/rooms/service.ts, talkUpdated and reloadTalks). The
 * database counts them, on every update, so a write from a node still on older code during a rollout,
 * or one made by hand in SQL, is counted too.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table talks add column version integer not null default 0`.execute(db);
  await sql`
    create function talks_count_write() returns trigger language plpgsql as $$
    begin
      new.version := old.version + 1;
      return new;
    end $$`.execute(db);
  await sql`create trigger talks_count_write before update on talks for each row execute function talks_count_write()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger talks_count_write on talks`.execute(db);
  await sql`drop function talks_count_write()`.execute(db);
  await sql`alter table talks drop column version`.execute(db);
}
