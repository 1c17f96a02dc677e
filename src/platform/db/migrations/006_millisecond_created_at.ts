import { type Kysely, sql } from 'kysely';

/**
 * Lists page on (created_at, id) with a cursor built from the JavaScript Date of the last row,
 * which holds milliseconds. `now()` holds microseconds, so rows made in one transaction (a
 * series' occurrences) shared a created_at finer than the cursor, and the next page skipped
 * them. From here on created_at is kept to the millisecond, and existing rows are truncated.
 */
const TABLES = [
  'users',
  'sessions',
  'partners',
  'memberships',
  'api_tokens',
  'themes',
  'talks',
  'groups',
  'group_talks',
  'recordings',
  'idempotency_keys',
  'password_resets',
  'invites',
  'talk_join_tokens',
  'talk_invites',
  'talk_participants',
  'talk_subscriptions',
  'webhook_endpoints',
  'webhook_events',
  'webhook_deliveries',
  'talk_captions',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  const columns = await sql<{ table_name: string; has_default: boolean }>`select table_name, column_default is not null as has_default
    from information_schema.columns where table_schema = current_schema() and column_name = 'created_at'`.execute(db);
  for (const { table_name: table, has_default } of columns.rows) {
    if (!TABLES.includes(table)) continue;
    if (has_default) await sql`alter table ${sql.id(table)} alter column created_at set default date_trunc('milliseconds', now())`.execute(db);
    await sql`update ${sql.id(table)} set created_at = date_trunc('milliseconds', created_at) where created_at <> date_trunc('milliseconds', created_at)`.execute(
      db,
    );
  }
}
