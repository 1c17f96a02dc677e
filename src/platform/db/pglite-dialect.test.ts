import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { PgliteDialect, PgliteMutex, PreparedStatements } from './pglite-dialect.js';

// A real PGlite in memory; the dialect alone (the app's schema is not needed here).
let pglite: PGlite;
let db: Kysely<any>;
/** Calls into PGlite's WebAssembly (its protocol) since the last reset. */
let calls = 0;

before(async () => {
  pglite = await PGlite.create({ parsers: { 20: (v: string) => Number(v) } });
  const execProtocolRaw = pglite.execProtocolRaw.bind(pglite);
  pglite.execProtocolRaw = (...args: Parameters<typeof execProtocolRaw>) => {
    calls++;
    return execProtocolRaw(...args);
  };
  db = new Kysely<any>({ dialect: new PgliteDialect(pglite, new PgliteMutex()) });
  await sql`create table t (id int primary key, at timestamptz, tags text[], data jsonb, bytes bytea, flag boolean, n bigint)`.execute(db);
});

after(async () => {
  await db.destroy();
  await pglite.close();
});

test('a statement is one call into PGlite, and a transaction adds only its commit (its begin goes with the first statement)', async () => {
  calls = 0;
  await sql`select ${1}::int as one`.execute(db);
  assert.equal(calls, 1);
  calls = 0;
  await db.transaction().execute(async (tx) => {
    await sql`insert into t (id) values (${100})`.execute(tx);
    assert.equal(pglite.isInTransaction(), true, 'the held-back begin went with the first statement');
    await sql`insert into t (id) values (${101})`.execute(tx);
  });
  assert.equal(calls, 3);
  assert.equal(pglite.isInTransaction(), false);
  calls = 0;
  await db.transaction().execute(async () => {});
  assert.equal(calls, 0, 'a transaction without a statement sends nothing');
});

test('a transaction whose statement fails is rolled back, its first statement with it', async () => {
  await assert.rejects(
    db.transaction().execute(async (tx) => {
      await sql`insert into t (id) values (${1})`.execute(tx);
      await sql`insert into t (id) values (${1})`.execute(tx);
    }),
    (err: { code?: string }) => err.code === '23505',
  );
  assert.equal(pglite.isInTransaction(), false);
  const rows = await sql<{ id: number }>`select id from t where id = ${1}`.execute(db);
  assert.deepEqual(rows.rows, []);
  // A first statement that fails: its begin ran, so the rollback has something to end.
  await assert.rejects(db.transaction().execute(async (tx) => sql`insert into t (id) values (${'not a number'})`.execute(tx)));
  assert.equal(pglite.isInTransaction(), false);
  assert.deepEqual((await sql`select 2 as two`.execute(db)).rows, [{ two: 2 }]);
});

test('parameters reach PGlite as node-postgres sends them, and come back as PGlite parses them', async () => {
  const at = new Date('2026-12-06T12:34:56.789Z');
  const result =
    await sql`insert into t (id, at, tags, data, bytes, flag, n) values (${2}, ${at}, ${['a', 'b "c"']}, ${JSON.stringify({ x: [1, 2] })}, ${Buffer.from([0, 255])}, ${true}, ${2n ** 40n})`.execute(
      db,
    );
  assert.equal(result.numAffectedRows, 1n);
  const row = (await sql<Record<string, unknown>>`select * from t where id = ${2}`.execute(db)).rows[0];
  assert.deepEqual(row, { id: 2, at, tags: ['a', 'b "c"'], data: { x: [1, 2] }, bytes: new Uint8Array([0, 255]), flag: true, n: 2 ** 40 });
  const nulls = (await sql<{ v: unknown }>`select ${null}::text as v`.execute(db)).rows[0];
  assert.equal(nulls.v, null);
  const updated = await sql`update t set flag = ${false} where id in (${2}, ${100}, ${101})`.execute(db);
  assert.equal(updated.numAffectedRows, 3n);
});

test('a statement run again is not parsed again; one a table change made stale, or pushed out of the cache, is', async () => {
  const small = new Kysely<any>({ dialect: new PgliteDialect(pglite, new PgliteMutex(), new PreparedStatements(2)) });
  // What the session has prepared, read with PGlite's own query (unnamed statements, outside the caches).
  const prepared = async (like: string) =>
    (await pglite.query<{ statement: string }>('select statement from pg_prepared_statements where statement like $1', [like])).rows.map((r) => r.statement);
  for (let i = 0; i < 3; i++) assert.deepEqual((await sql`select ${i}::int as probe_a`.execute(small)).rows, [{ probe_a: i }]);
  assert.equal((await prepared('%probe_a%')).length, 1, 'three runs, one prepared statement');

  await sql`create table s (a int)`.execute(small);
  await sql`insert into s values (${1})`.execute(small);
  assert.deepEqual((await sql`select * from s where a = ${1}`.execute(small)).rows, [{ a: 1 }]);
  await sql`alter table s add column b text`.execute(small);
  // Its prepared plan's columns no longer match: Postgres refuses it, and the dialect parses it again.
  assert.deepEqual((await sql`select * from s where a = ${1}`.execute(small)).rows, [{ a: 1, b: null }]);
  // Inside a transaction that refusal would abort it: the statement fails once, then works.
  await sql`alter table s add column c text`.execute(small);
  await assert.rejects(
    small.transaction().execute(async (tx) => sql`select * from s where a = ${1}`.execute(tx)),
    (err: { code?: string }) => err.code === '0A000',
  );
  assert.deepEqual((await sql`select * from s where a = ${1}`.execute(small)).rows, [{ a: 1, b: null, c: null }]);

  // Only the 2 most recently used stay prepared: the others are closed with the next statement.
  for (const probe of ['probe_b', 'probe_c', 'probe_d']) await sql`select ${1}::int as ${sql.ref(probe)}`.execute(small);
  // probe_e pushes probe_c out; probe_c is closed with the statement after it.
  await sql`select ${1}::int as probe_e`.execute(small);
  await sql`select ${2}::int as probe_e`.execute(small);
  assert.deepEqual((await prepared('%probe_%')).sort(), ['select $1::int as "probe_d"', 'select $1::int as probe_e']);
  await small.destroy();
});
