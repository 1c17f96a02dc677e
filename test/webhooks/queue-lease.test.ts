import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { Queue } from '../../src/platform/queue.js';
import { DELIVER_QUEUE } from '../../src/webhooks/outbox.js';
import { type TestApp, startApp } from '../support/app.js';

// The job queue alone (no delivery worker): a job fetched and held, its lease renewed, is not taken
// for a dead worker's; one not renewed is, once past its expiry. A waiting job is kept for years.
let t: TestApp;
before(async () => {
  t = await startApp({ background: ['queue'] });
});
after(() => t.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a held job whose lease is renewed is not reclaimed past its expiry; one not renewed is', async () => {
  const { queue, db } = t.services;
  await db.db.transaction().execute((tx) =>
    queue.insertInTx(tx, DELIVER_QUEUE, [
      { data: { d: 'renewed', g: 0 }, expireInSeconds: 1 },
      { data: { d: 'left', g: 0 }, expireInSeconds: 1 },
    ]),
  );
  const jobs = await queue.fetch<{ d: string }>(DELIVER_QUEUE, 10);
  assert.equal(jobs.length, 2);
  const renewed = jobs.find((j) => j.data.d === 'renewed');
  assert.ok(renewed);
  for (let i = 0; i < 3; i++) {
    await sleep(700);
    assert.equal(await queue.renewActive(DELIVER_QUEUE, [renewed.id]), 1);
  }
  // 2.1 s after the fetch, both are past a 1-s expiry counted from it; only the renewed one's counts from 0 s ago.
  assert.equal(await queue.reclaimActive(DELIVER_QUEUE, { everyActive: false }), 1, 'only the job left alone is reclaimed');
  const again = await queue.fetch<{ d: string }>(DELIVER_QUEUE, 10);
  assert.deepEqual(
    again.map((j) => j.data.d),
    ['left'],
  );
  await queue.complete(DELIVER_QUEUE, [renewed.id, ...again.map((j) => j.id)]);
});

test('a job waiting to run is kept for years, not the 14 days after which pg-boss drops waiting jobs', async () => {
  const { queue, db } = t.services;
  await db.db.transaction().execute((tx) => queue.insertInTx(tx, DELIVER_QUEUE, [{ data: { d: 'waits', g: 0 }, startAfter: new Date(Date.now() + 3600_000) }]));
  const { rows } = await sql<{ keep_until: Date }>`select keep_until from ${sql.table(`${queue.schema}.job`)} where data->>'d' = 'waits'`.execute(db.db);
  assert.equal(rows.length, 1);
  const years = (rows[0].keep_until.getTime() - Date.now()) / (365 * 24 * 3600_000);
  assert.ok(years > 9, `kept ${years.toFixed(2)} years`);
});

test('jobs already waiting when the retention was changed get it too (a server upgraded with deliveries pending)', async () => {
  const { queue, db, log } = t.services;
  const table = (name: string) => sql.table(`${queue.schema}.${name}`);
  // As a queue made before: no retention of its own, so a job inserted now keeps pg-boss's 14 days.
  await sql`update ${table('queue')} set retention_minutes = null where name = ${DELIVER_QUEUE}`.execute(db.db);
  await db.db
    .transaction()
    .execute((tx) => queue.insertInTx(tx, DELIVER_QUEUE, [{ data: { d: 'before', g: 0 }, startAfter: new Date(Date.now() + 3600_000) }]));
  const keptFor = async () => {
    const { rows } = await sql<{ keep_until: Date }>`select keep_until from ${table('job')} where data->>'d' = 'before'`.execute(db.db);
    return (rows[0].keep_until.getTime() - Date.now()) / (365 * 24 * 3600_000);
  };
  assert.ok((await keptFor()) < 0.1, 'inserted with the old retention');
  // The next start (the upgraded server) gives the queue its retention, and the waiting job with it.
  const upgraded = new Queue(db, log, { schema: queue.schema, supervise: false });
  await upgraded.start([DELIVER_QUEUE]);
  await upgraded.stop();
  assert.ok((await keptFor()) > 9, `kept ${(await keptFor()).toFixed(2)} years`);
});
