import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../platform/db/index.js';
import { type Unlisten, listenPostgres } from '../platform/db/listen.js';
import type { TalksService } from './service.js';

/** The Postgres channel nodes tell each other of talk changes on: "<schema> <node> <partner id>". */
export const TALKS_CHANNEL = 'smalltalk_talks';

/**
 * Tells every node of talk changes made on another: its talk list cache (list-cache.ts) drops the
 * partner's pages, and its live rooms of that partner re-read their talks (ended, deleted or
 * edited through another node's API). The code that changes talks calls
 * `talks.changed(partnerId)` after its commit (TalksService, the live room, theme deletion):
 * the node's own pages go at once, and on Postgres the change is announced to the other nodes.
 *
 * Announcements are NOTIFYs sent after the writer's commit, never from inside it: a NOTIFY in a
 * transaction takes a database-wide lock until that transaction's commit is flushed, which
 * serialized concurrent talk creation (measured: 4,900-6,100 inserts/s fell to 630-1,700). Ours
 * go in one statement per event-loop turn, for every partner changed in it, with
 * synchronous_commit off (a NOTIFY has nothing to make durable; if the database restarts, every
 * node's LISTEN connection drops and its cache is emptied).
 *
 * The cache serves only while this node's LISTEN connection is up (`enable`/`disable`), and no
 * page is older than TALK_LIST_CACHE_SECONDS, which bounds what a missed announcement (or a talk
 * edited by hand in SQL) can cost. Embedded
 * (PGlite) is one process: there is nobody to tell, and the cache is on from the start.
 */
export function talkChanges(db: DatabaseHandle, connectionString: string | undefined, schema: string, talks: TalksService, log: Logger) {
  const node = randomUUID();
  const pending = new Set<string>();
  let flushing: Promise<void> | null = null;
  let unlisten: Unlisten | undefined;

  let stopped = false;
  let heardBefore = false;
  const changedElsewhere = (partnerId: string | null) => {
    for (const l of talks.listeners) {
      Promise.resolve(l.changedElsewhere?.(partnerId)).catch((err) => log.warn({ err }, 'a talk change listener failed'));
    }
  };
  const flush = async () => {
    // Everything changed in this turn of the event loop goes in one statement.
    await new Promise((r) => setImmediate(r));
    const partners = [...pending];
    pending.clear();
    flushing = null;
    try {
      const payloads = partners.map((p) => `${schema} ${node} ${p}`);
      await sql`select set_config('synchronous_commit', 'off', true), pg_notify(${TALKS_CHANNEL}, p) from unnest(${payloads}::text[]) as p`.execute(db.db);
    } catch (err) {
      // Until it goes through, other nodes may serve these partners' old pages (at most for
      // TALK_LIST_CACHE_SECONDS): try again in a second.
      log.warn({ err, partners: partners.length }, 'announcing talk changes failed; retrying');
      setTimeout(() => {
        if (stopped) return;
        for (const p of partners) pending.add(p);
        flushing ??= flush();
      }, 1000).unref();
    }
  };

  return {
    name: 'talk-changes',
    async start() {
      if (db.kind === 'pglite' || !connectionString) {
        talks.listCache.enable();
        return;
      }
      talks.announce = (partnerId) => {
        pending.add(partnerId);
        flushing ??= flush();
      };
      unlisten = listenPostgres(
        connectionString,
        schema,
        TALKS_CHANNEL,
        {
          message(payload) {
            const [from, by, partnerId] = payload.split(' ');
            if (from !== schema || by === node || !partnerId) return;
            talks.listCache.invalidate(partnerId);
            changedElsewhere(partnerId);
          },
          up: () => {
            talks.listCache.enable();
            // Back after an outage (or the first time): what was announced meanwhile went unheard.
            if (heardBefore) changedElsewhere(null);
            heardBefore = true;
          },
          down: () => talks.listCache.disable(),
        },
        log,
      );
    },
    async stop() {
      stopped = true;
      talks.announce = undefined;
      await flushing;
      talks.listCache.disable();
      await unlisten?.();
    },
  };
}
