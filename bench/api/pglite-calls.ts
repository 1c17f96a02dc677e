/**
 * What a join's database work costs on PGlite, through the app's dialect (each statement in one call
 * into PGlite, a transaction's `begin` sent with its first statement, statements kept prepared), the
 * same dialect preparing none (every statement parsed and planned again), and PGlite's own `query`
 * (six calls a statement, as the dialect did first), alternating in rounds on one migrated
 * in-memory database in this process. A join runs: the talk by short code, the ban check, then in
 * one transaction the participant and its `talk_join` event (with its deliveries, none here: no
 * endpoint). Prints this process's CPU per join for each and their ratio.
 *   npx tsx bench/api/pglite-calls.ts [joins per round=1000] [rounds=6]
 */
import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
  sql,
} from 'kysely';
import { loadConfig } from '../../src/platform/config.js';
import { type Db, migrate } from '../../src/platform/db/index.js';
import { PgliteDialect, PgliteMutex, PreparedStatements } from '../../src/platform/db/pglite-dialect.js';
import type { Database } from '../../src/platform/db/schema.js';
import { RoomsRepository } from '../../src/rooms/repository.js';
import { TalksRepository } from '../../src/talks/repository.js';
import { PGlite as PGliteClass } from '@electric-sql/pglite';

const perRound = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 6);

/** The dialect as it was: every statement through PGlite's `query`. */
function queryPerStep(pglite: PGlite): Kysely<Database> {
  const mutex = new PgliteMutex();
  const connection: DatabaseConnection = {
    async executeQuery<R>(c: CompiledQuery): Promise<QueryResult<R>> {
      const r = await pglite.query<R>(c.sql, c.parameters as unknown[]);
      return { rows: r.rows, numAffectedRows: r.affectedRows !== undefined ? BigInt(r.affectedRows) : undefined };
    },
    // biome-ignore lint/correctness/useYield: not used
    async *streamQuery() {
      throw new Error('no');
    },
  };
  const run = (text: string) => connection.executeQuery({ sql: text, parameters: [] } as unknown as CompiledQuery);
  let release = () => {};
  const driver: Driver = {
    async init() {},
    async acquireConnection() {
      release = await mutex.acquire();
      return connection;
    },
    async beginTransaction() {
      await run('begin');
    },
    async commitTransaction() {
      await run('commit');
    },
    async rollbackTransaction() {
      await run('rollback');
    },
    async releaseConnection() {
      release();
    },
    async destroy() {},
  };
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createQueryCompiler: () => new PostgresQueryCompiler(),
      createIntrospector: (db) => new PostgresIntrospector(db),
    },
  });
}

async function join(db: Db, partnerId: string, talkId: string, code: string) {
  const talk = await new TalksRepository(db).byShortCode(code);
  if (!talk) throw new Error('no talk');
  const rooms = new RoomsRepository(db);
  const ban = await rooms.matchingBan(partnerId, talkId, { userId: null, uid: null, tokenHash: null, deviceId: 'dev', address: '127.0.0.1', guest: true });
  if (ban) throw new Error('banned');
  await db.transaction().execute(async (tx) => {
    const id = randomUUID();
    await new RoomsRepository(tx).insertParticipant(tx, partnerId, talkId, {
      id,
      user_id: null,
      uid: null,
      name: 'Guest',
      username: null,
      photo_url: null,
      role: 'listener',
      resume_hash: id,
      token_hash: null,
    });
    // The outbox's statement (src/webhooks/outbox.ts, emit): the event and a delivery per subscribed endpoint.
    const eventId = randomUUID();
    const at = new Date();
    await sql`with event as (
        insert into webhook_events (id, partner_id, event_name, payload, created_at)
        values (${eventId}::uuid, ${partnerId}::uuid, 'talk_join', ${JSON.stringify({ talk_id: talkId, name: 'Guest' })}::text, ${at}::timestamptz)
      )
      insert into webhook_deliveries (partner_id, endpoint_id, event_id, event_name, next_attempt_at)
      select ${partnerId}::uuid, e.id, ${eventId}::uuid, 'talk_join', ${at}::timestamptz
      from webhook_endpoints e
      where e.partner_id = ${partnerId}::uuid and e.enabled and e.events @> array['talk_join']::text[]
      returning id`.execute(tx);
  });
}

async function main() {
  loadConfig({});
  const pglite = await PGliteClass.create({ parsers: { 20: (v: string) => Number(v), 1700: (v: string) => v } });
  const app = new Kysely<Database>({ dialect: new PgliteDialect(pglite, new PgliteMutex()) });
  await migrate(app, 'public');
  const old = queryPerStep(pglite);
  const partnerId = randomUUID();
  const talkId = randomUUID();
  const code = 'bench1';
  await sql`insert into partners (id, name) values (${partnerId}::uuid, 'Bench')`.execute(app);
  await sql`insert into talks (id, partner_id, name, short_code) values (${talkId}::uuid, ${partnerId}::uuid, 'Bench talk', ${code})`.execute(app);

  const unprepared = new Kysely<Database>({ dialect: new PgliteDialect(pglite, new PgliteMutex(), new PreparedStatements(0)) });
  const ways = [
    ['prepared', 'the dialect, statements kept prepared', app],
    ['unprepared', 'the dialect, every statement parsed again', unprepared],
    ['query', "PGlite's query, six calls a statement", old],
  ] as const;
  const results: Record<string, number[]> = { prepared: [], unprepared: [], query: [] };
  for (let round = 0; round <= rounds; round++) {
    for (const [name, , db] of ways) {
      const c0 = process.cpuUsage();
      for (let i = 0; i < perRound; i++) await join(db, partnerId, talkId, code);
      const c = process.cpuUsage(c0);
      if (round > 0) results[name].push((c.user + c.system) / perRound / 1000); // round 0 warms up
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`a join's statements, ms of CPU per join (median of ${rounds} rounds of ${perRound}):`);
  for (const [name, label] of ways) {
    console.log(`  ${`${label}:`.padEnd(44)} ${median(results[name]).toFixed(3)} (${results[name].map((x) => x.toFixed(3)).join(', ')})`);
  }
  const prepared = median(results.prepared);
  console.log(
    `  ratios: prepared / parsed again ${(prepared / median(results.unprepared)).toFixed(2)}x, prepared / PGlite's query ${(prepared / median(results.query)).toFixed(2)}x`,
  );
  await pglite.close();
}

await main();
