import { type Kysely, sql } from 'kysely';

/**
 * The question queue of a `questions` room: kept for as long as the talk is open, so a node that
 * restarts (or a room that moves to another node) opens the room again with its queue. `removed`:
 * withdrawn by the asker or taken off by a host (kept for the record, never shown).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table talk_questions (
      id uuid primary key,
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      participant_id uuid,
      name text not null,
      text text not null,
      status text not null check (status in ('open', 'on_stage', 'answered', 'removed')),
      created_at timestamptz not null default now(),
      answered_at timestamptz
    )`.execute(db);
  await sql`create index talk_questions_talk on talk_questions (talk_id, created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table talk_questions`.execute(db);
}
