import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { TalksService } from '../talks/service.js';
import type { Db } from './db/index.js';
import { pruneIdempotencyKeys } from './idempotency.js';

const EVERY_MS = 60 * 60 * 1000;
const LOCK_KEY = 7_311_001; // any constant: one node at a time runs the hourly chores

/**
 * Hourly chores: top up recurring series to their horizon, forget day-old idempotency keys and
 * expired sessions. On several nodes an advisory lock lets one of them do it.
 */
export function maintenance(db: Db, kind: 'pglite' | 'postgres', talks: TalksService, log: Logger) {
  let timer: NodeJS.Timeout | undefined;
  const chores = async () => {
    const created = await talks.extendAllSeries();
    await pruneIdempotencyKeys(db);
    await db.deleteFrom('sessions').where('expires_at', '<', new Date()).execute();
    if (created) log.info({ created }, 'series occurrences created');
  };
  const runOnce = async () => {
    try {
      // PGlite is one process by construction; on Postgres the session lock is held on one pinned connection.
      if (kind === 'pglite') return await chores();
      await db.connection().execute(async (conn) => {
        const locked = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${LOCK_KEY}) as ok`.execute(conn);
        if (!locked.rows[0]?.ok) return;
        try {
          await chores();
        } finally {
          await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
        }
      });
    } catch (err) {
      log.error({ err }, 'maintenance failed');
    }
  };
  return {
    name: 'maintenance',
    runOnce,
    async start() {
      timer = setInterval(runOnce, EVERY_MS);
      timer.unref();
      void runOnce();
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
