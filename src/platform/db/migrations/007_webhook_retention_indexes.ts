import { type Kysely, sql } from 'kysely';

/**
 * Retention deletes old events whose deliveries are all finished: it looks events up by age, and
 * checking (then cascading to) their deliveries needs deliveries by event. Without these two
 * indexes each pass scanned both tables.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index webhook_events_created on webhook_events (created_at)`.execute(db);
  await sql`create index webhook_deliveries_event on webhook_deliveries (event_id)`.execute(db);
}
