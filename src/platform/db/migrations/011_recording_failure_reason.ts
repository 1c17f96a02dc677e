import { type Kysely, sql } from 'kysely';

/**
 * Why a recording failed, in words a partner can act on (shown as `failure_reason`): for example a
 * recording whose tracks are on the disk of a node that died and never came back.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table recordings add column failure_reason text`.execute(db);
}
