import { type Kysely, sql } from 'kysely';

/** Password reset links and teammate invites (both kept as SHA-256 of the secret in the link). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table password_resets (
      id text primary key,
      user_id uuid not null references users(id) on delete cascade,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      used_at timestamptz
    );
    create index password_resets_user_id on password_resets (user_id);

    create table invites (
      id uuid primary key default gen_random_uuid(),
      partner_id uuid not null references partners(id) on delete cascade,
      role text not null check (role in ('owner', 'admin', 'member')),
      token_hash text not null unique,
      created_by_id uuid references users(id) on delete set null,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      accepted_at timestamptz,
      accepted_by_id uuid references users(id) on delete set null
    );
    create index invites_partner_id on invites (partner_id, created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table invites; drop table password_resets;`.execute(db);
}
