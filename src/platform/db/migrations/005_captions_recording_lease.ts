import { type Kysely, sql } from 'kysely';

/**
 * Live captions (one row per recognized phrase, numbered per talk from webhook_talk_sequences),
 * and a lease on recordings so several nodes on one database recover only abandoned ones.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table talk_captions (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      seq bigint not null,
      participant_id text not null,
      user_id uuid,
      uid text,
      name text not null,
      username text,
      avatar_url text,
      text text not null,
      spoken_at timestamptz not null,
      created_at timestamptz not null default now(),
      unique (talk_id, seq)
    );
    create index talk_captions_partner_talk on talk_captions (partner_id, talk_id, seq);

    alter table recordings add column owner_node text;
    alter table recordings add column heartbeat_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table recordings drop column heartbeat_at;
    alter table recordings drop column owner_node;
    drop table talk_captions;
  `.execute(db);
}
