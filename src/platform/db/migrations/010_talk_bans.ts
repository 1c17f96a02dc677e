import { type Kysely, sql } from 'kysely';

/**
 * People a host removed from a talk: they cannot rejoin it until a host lifts the ban. A ban
 * matches the removed participant's identity (member user id, partner uid, the join token they
 * used) and, for guests, the browser they came from (the device id the talk page keeps) and their
 * address. `lifted_at` set: no longer in force (kept for the record).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table talk_bans (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      participant_id uuid,
      name text not null,
      user_id uuid references users(id) on delete set null,
      uid text,
      token_hash text,
      device_id text,
      address text,
      created_at timestamptz not null default now(),
      lifted_at timestamptz
    )`.execute(db);
  await sql`create index talk_bans_talk on talk_bans (talk_id, created_at) where lifted_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table talk_bans`.execute(db);
}
