import { type Kysely, sql } from 'kysely';

/** Live rooms: join tokens, talk invites, participants (one row per join), subscriptions. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table talk_join_tokens (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      token_hash text not null unique,
      uid text,
      name text,
      username text,
      photo_url text,
      role text not null check (role in ('host', 'speaker', 'listener')),
      created_at timestamptz not null default now(),
      expires_at timestamptz
    );
    create index talk_join_tokens_talk on talk_join_tokens (partner_id, talk_id);

    create table talk_invites (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      token_hash text not null unique,
      max_uses integer,
      uses integer not null default 0,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      revoked_at timestamptz
    );
    create index talk_invites_talk on talk_invites (partner_id, talk_id, created_at);

    create table talk_participants (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      user_id uuid references users(id) on delete set null,
      uid text,
      name text not null,
      username text,
      photo_url text,
      role text not null check (role in ('host', 'speaker', 'listener')),
      joined_at timestamptz not null default now(),
      left_at timestamptz
    );
    create index talk_participants_talk on talk_participants (partner_id, talk_id, joined_at);

    create table talk_subscriptions (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      email text not null,
      name text,
      created_at timestamptz not null default now()
    );
    create unique index talk_subscriptions_email on talk_subscriptions (talk_id, lower(email));
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table talk_subscriptions; drop table talk_participants; drop table talk_invites; drop table talk_join_tokens;`.execute(db);
}
