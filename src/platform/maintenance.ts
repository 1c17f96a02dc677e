import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from './db/index.js';
import { pruneIdempotencyKeys } from './idempotency.js';

const EVERY_MS = 60 * 60 * 1000;
const LOCK_KEY = 7_311_001; // any constant: one node at a time runs the hourly chores

/** An hourly chore a feature hands to maintenance (top up recurring series, forget expired sessions). */
export interface Chore {
  name: string;
  run(): Promise<void>;
}

/**
 * Hourly chores: the platform's own (forget day-old idempotency keys) and those features add to
 * `chores` while they are built. On several nodes an advisory lock lets one of them do it. One
 * failing chore is logged and does not stop the others.
 */
export function maintenance(db: Db, kind: 'pglite' | 'postgres', log: Logger) {
  let timer: NodeJS.Timeout | undefined;
  const list: Chore[] = [
    {
      name: 'idempotency keys',
      run: async () => {
        await pruneIdempotencyKeys(db);
      },
    },
  ];
  const chores = async () => {
    for (const chore of list) {
      try {
        await chore.run();
      } catch (err) {
        log.error({ err, chore: chore.name }, 'maintenance chore failed');
      }
    }
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
    /** Features add their chores here before the background jobs start. */
    chores: list,
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
