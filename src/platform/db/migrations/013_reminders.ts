import { type Kysely, sql } from 'kysely';

/**
 * Reminder emails (src/reminders): one batch per talk and kind (`starting`, `replay`), written in the
 * transaction that queues its emails, so a scan on any node queues them once; one row per email sent,
 * so a job retried after a crash does not mail the same person twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table reminder_batches (
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      kind text not null check (kind in ('starting', 'replay')),
      recipients integer not null,
      created_at timestamptz not null default now(),
      primary key (talk_id, kind)
    );
    create table reminder_sends (
      partner_id uuid not null references partners(id) on delete cascade,
      talk_id uuid not null references talks(id) on delete cascade,
      kind text not null,
      email text not null,
      sent_at timestamptz not null default now(),
      primary key (talk_id, kind, email)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table reminder_sends; drop table reminder_batches;`.execute(db);
}
