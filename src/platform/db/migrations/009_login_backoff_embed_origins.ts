import { type Kysely, sql } from 'kysely';

/**
 * Per-account password backoff and per-partner embed origins.
 *
 * `login_failures` is keyed by the SHA-256 of the lower-cased email, known or not, so a locked
 * account answers like an unknown one and the table tells nothing about who has an account. Rows
 * go when a login succeeds, or a day after their last failure (src/accounts/login-backoff.ts).
 *
 * `partners.embed_origins`: the https:// origins allowed to frame this partner's talk pages and to
 * open their room sockets (empty: nobody frames them).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table login_failures (
      email_hash text primary key,
      failures integer not null default 0,
      blocked_until timestamptz,
      last_failure_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index login_failures_last on login_failures (last_failure_at)`.execute(db);
  await sql`alter table partners add column embed_origins jsonb not null default '[]'::jsonb`.execute(db);
}
