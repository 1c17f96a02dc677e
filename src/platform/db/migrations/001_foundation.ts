import { type Kysely, sql } from 'kysely';

/** Accounts, partners, API tokens, themes, talks, groups, recordings, idempotency keys. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id uuid primary key default gen_random_uuid(),
      email text not null,
      password_hash text not null,
      name text not null,
      username text,
      photo_url text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index users_email_key on users (lower(email));

    create table sessions (
      id text primary key,
      user_id uuid not null references users(id) on delete cascade,
      csrf_token text not null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null
    );
    create index sessions_user_id on sessions (user_id);

    create table partners (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      created_by_id uuid references users(id) on delete set null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );

    create table memberships (
      partner_id uuid not null references partners(id) on delete cascade,
      user_id uuid not null references users(id) on delete cascade,
      role text not null check (role in ('owner', 'admin', 'member')),
      created_at timestamptz not null default now(),
      primary key (partner_id, user_id)
    );
    create index memberships_user_id on memberships (user_id);

    create table api_tokens (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      name text not null,
      prefix text not null,
      token_hash text not null unique,
      created_by_id uuid references users(id) on delete set null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    );
    create index api_tokens_partner_id on api_tokens (partner_id, created_at);

    create table themes (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      name text not null,
      colors jsonb not null default '{}'::jsonb,
      logo_url text,
      background_url text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index themes_partner_id on themes (partner_id, created_at);

    create table talks (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      created_by_id uuid references users(id) on delete set null,
      name text not null,
      description text,
      room_type text not null default 'default' check (room_type in ('default', 'questions', 'hosted_events')),
      access text not null default 'anyone' check (access in ('anyone', 'invite_only')),
      mic_behavior text not null default 'start_on' check (mic_behavior in ('start_on', 'start_off')),
      theme_id uuid references themes(id) on delete set null,
      start_time timestamptz,
      end_time timestamptz,
      subscriptions_allowed boolean not null default false,
      recording boolean not null default true,
      price numeric,
      currency text,
      thumbnail_url text,
      schedule text,
      schedule_talk_id uuid references talks(id) on delete cascade,
      short_code text not null unique,
      status text not null default 'scheduled' check (status in ('scheduled', 'live', 'ended')),
      started_at timestamptz,
      ended_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index talks_partner_created on talks (partner_id, created_at desc, id desc);
    create index talks_schedule_talk_id on talks (schedule_talk_id);

    create table groups (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      name text not null,
      description text,
      rank double precision not null default 0,
      visible boolean not null default true,
      price numeric,
      currency text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index groups_partner_rank on groups (partner_id, rank, id);

    create table group_talks (
      group_id uuid not null references groups(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      partner_id uuid not null references partners(id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (group_id, talk_id)
    );
    create index group_talks_talk_id on group_talks (talk_id);

    create table recordings (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      status text not null default 'recording' check (status in ('recording', 'processing', 'ready', 'failed')),
      file_name text not null,
      storage_key text not null,
      size bigint,
      duration double precision,
      start_time timestamptz not null default now(),
      end_time timestamptz,
      share_permission text not null default 'private' check (share_permission in ('private', 'public')),
      created_by_id uuid references users(id) on delete set null,
      user_id uuid references users(id) on delete set null,
      tracks jsonb not null default '[]'::jsonb,
      transcription jsonb,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index recordings_partner_created on recordings (partner_id, created_at desc, id desc);
    create index recordings_talk_id on recordings (talk_id);

    create table idempotency_keys (
      partner_id uuid not null references partners(id) on delete cascade,
      key text not null,
      request_hash text not null,
      status_code integer,
      response text,
      created_at timestamptz not null default now(),
      primary key (partner_id, key)
    );
  `.execute(db);
}
