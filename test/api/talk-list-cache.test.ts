import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { TalkListCache } from '../../src/talks/list-cache.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp, testDb } from '../support/app.js';
import { waitFor } from '../support/wait.js';

const names = (body: { talks: { name: string }[] }) => body.talks.map((x) => x.name);

describe('the talk list cache (list-cache.ts)', () => {
  test('a page read before a change is not kept; one read after it is', () => {
    const cache = new TalkListCache(1024 * 1024);
    cache.enable();
    const before = cache.ticket();
    cache.invalidate('p1');
    cache.store('p1', 'q', before, Buffer.from('old'));
    assert.equal(cache.get('p1', 'q'), undefined, 'a read that raced a change must not be kept');
    cache.store('p1', 'q', cache.ticket(), Buffer.from('new'));
    assert.equal(cache.get('p1', 'q')?.body.toString(), 'new');
    cache.invalidate('p2');
    assert.equal(cache.get('p1', 'q')?.body.toString(), 'new', "another partner's change keeps this one's pages");
    cache.invalidate('p1');
    assert.equal(cache.get('p1', 'q'), undefined, "the partner's change drops its pages");
  });

  test('nothing is served or kept while changes may go unheard, and a reconnect starts afresh', () => {
    const cache = new TalkListCache(1024 * 1024);
    assert.equal(cache.store('p', 'q', cache.ticket(), Buffer.from('x')).body.toString(), 'x');
    assert.equal(cache.get('p', 'q'), undefined, 'not enabled yet');
    cache.enable();
    const ticket = cache.ticket();
    cache.disable();
    cache.enable();
    cache.store('p', 'q', ticket, Buffer.from('read across the outage'));
    assert.equal(cache.get('p', 'q'), undefined);
    cache.store('p', 'q', cache.ticket(), Buffer.from('y'));
    assert.ok(cache.get('p', 'q'));
    cache.disable();
    assert.equal(cache.get('p', 'q'), undefined);
  });

  test('requests that miss together share one read, but not one begun before a change', async () => {
    const cache = new TalkListCache(1024 * 1024);
    cache.enable();
    let reads = 0;
    let finish: (() => void)[] = [];
    const read = () =>
      new Promise<Buffer>((resolve) => {
        const n = ++reads;
        finish.push(() => resolve(Buffer.from(`read ${n}`)));
      });
    const a = cache.page('p', 'q', read);
    const b = cache.page('p', 'q', read);
    cache.invalidate('p');
    const c = cache.page('p', 'q', read);
    const d = cache.page('p', 'q', read);
    for (const f of finish) f();
    finish = [];
    assert.deepEqual(
      (await Promise.all([a, b, c, d])).map((x) => x.body.toString()),
      ['read 1', 'read 1', 'read 2', 'read 2'],
    );
    assert.equal(reads, 2);
    assert.equal((await cache.page('p', 'q', read)).body.toString(), 'read 2', 'the read after the change is kept');
    assert.equal(reads, 2);
  });

  test('memory stays within its budget, least recently used pages going first', () => {
    const cache = new TalkListCache(1000);
    cache.enable();
    for (const q of ['a', 'b', 'c']) cache.store('p', q, cache.ticket(), Buffer.alloc(240));
    assert.ok(cache.get('p', 'a'), 'a is used again');
    cache.store('p', 'd', cache.ticket(), Buffer.alloc(240));
    cache.store('p', 'e', cache.ticket(), Buffer.alloc(240));
    assert.ok(cache.stats().bytes <= 1000);
    assert.ok(cache.get('p', 'a') && cache.get('p', 'e'));
    assert.equal(cache.get('p', 'b'), undefined);
    assert.equal(cache.store('p', 'big', cache.ticket(), Buffer.alloc(400)).body.length, 400, 'too big to keep, still answered');
    assert.equal(cache.get('p', 'big'), undefined);
  });
});

describe(`GET /api/v1/partners/talks with its cache (${testDb})`, () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Cached');
  });
  after(() => t.close());

  test('a page is kept, tagged, and answered 304 to a client that has it', async () => {
    await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'One' } });
    const first = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    assert.equal(first.status, 200);
    const etag = first.headers.get('etag');
    assert.match(etag ?? '', /^"[\w-]+"$/);
    assert.ok(t.services.talks.listCache.stats().pages >= 1, 'the page is kept');
    const again = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers.get('etag'), etag);
    const notModified = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token, headers: { 'if-none-match': `W/"x", ${etag}` } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, '');
    const other = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token, headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
  });

  test("a partner's own writes show at once: create, update, delete, end", async () => {
    const q = await createPartner(t, 'Writer');
    const list = async () => names((await api(t, 'GET', '/api/v1/partners/talks', { token: q.token })).body);
    assert.deepEqual(await list(), []);
    const a = (await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'A' } })).body.talk;
    assert.deepEqual(await list(), ['A']);
    await api(t, 'PATCH', `/api/v1/partners/talks/${a.id}`, { token: q.token, json: { name: 'A2' } });
    assert.deepEqual(await list(), ['A2']);
    await api(t, 'POST', `/api/v1/partners/talks/${a.id}/end`, { token: q.token });
    const ended = (await api(t, 'GET', '/api/v1/partners/talks', { token: q.token })).body.talks[0];
    assert.equal(ended.status, 'ended');
    await api(t, 'DELETE', `/api/v1/partners/talks/${a.id}`, { token: q.token });
    assert.deepEqual(await list(), []);
  });

  test('deleting a theme clears it from the listed talks at once (a cascade, not a talk write)', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Themed' } })).body.talk;
    const theme = (await api(t, 'POST', '/api/v1/partners/themes', { token: p.token, json: { name: 'Gone soon' } })).body.theme;
    await api(t, 'PATCH', `/api/v1/partners/talks/${talk.id}`, { token: p.token, json: { theme_id: theme.id } });
    const themed = (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0];
    assert.equal(themed.theme_id, theme.id);
    assert.equal((await api(t, 'DELETE', `/api/v1/partners/themes/${theme.id}`, { token: p.token })).status, 200);
    const after = (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0];
    assert.equal(after.theme_id, null);
  });

  test('a talk edited behind the code (SQL by hand) shows once the page is TALK_LIST_CACHE_SECONDS old', async () => {
    const short = await startApp({ env: { TALK_LIST_CACHE_SECONDS: '1' } });
    try {
      const q = await createPartner(short, 'Aged');
      const talk = (await api(short, 'POST', '/api/p/talk', { token: q.token, json: { name: 'Kept' } })).body.talk;
      assert.deepEqual(names((await api(short, 'GET', '/api/v1/partners/talks', { token: q.token })).body), ['Kept']);
      await short.services.db.db.updateTable('talks').set({ name: 'By hand' }).where('id', '=', talk.id).execute();
      assert.deepEqual(names((await api(short, 'GET', '/api/v1/partners/talks', { token: q.token })).body), ['Kept'], 'served from the cache');
      await waitFor(
        async () => names((await api(short, 'GET', '/api/v1/partners/talks', { token: q.token })).body)[0] === 'By hand',
        'the page to age out',
        3000,
      );
    } finally {
      await short.close();
    }
  });

  test("Postgres: a change on another node reaches this node's cached page", {
    skip: testDb !== 'postgres' && 'needs Postgres (TEST_DB=postgres)',
  }, async () => {
    // A second node on the same database (schema), as in the scaled mode.
    const other = await startApp({ schema: t.config.DATABASE_SCHEMA });
    try {
      await waitFor(() => other.services.talks.listCache.stats().active, 'the other node to listen', 5000);
      const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Node A' } })).body.talk;
      assert.ok(names((await api(other, 'GET', '/api/v1/partners/talks', { token: p.token })).body).includes('Node A'));
      // The announcement of A's create may reach B while B reads that first page; B then rightly
      // does not keep it (the read may predate the create). Read again until B keeps one.
      await waitFor(
        async () => {
          await api(other, 'GET', '/api/v1/partners/talks', { token: p.token });
          return other.services.talks.listCache.stats().pages >= 1;
        },
        'node B to keep the page',
        2000,
      );
      await api(t, 'PATCH', `/api/v1/partners/talks/${talk.id}`, { token: p.token, json: { name: 'Renamed on A' } });
      await waitFor(
        async () => names((await api(other, 'GET', '/api/v1/partners/talks', { token: p.token })).body).includes('Renamed on A'),
        'node B to hear of the change',
        2000,
      );
      await api(other, 'DELETE', `/api/v1/partners/talks/${talk.id}`, { token: p.token });
      await waitFor(
        async () => !names((await api(t, 'GET', '/api/v1/partners/talks', { token: p.token })).body).includes('Renamed on A'),
        'node A to hear of the delete',
        2000,
      );
    } finally {
      await other.close();
    }
  });

  test('another partner never gets a page kept for this one', async () => {
    const q = await createPartner(t, 'Other');
    await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    const theirs = await api(t, 'GET', '/api/v1/partners/talks', { token: q.token });
    assert.deepEqual(theirs.body.talks, []);
  });

  test('Postgres: while the LISTEN connection is down nothing stale is served, and the cache comes back', {
    skip: testDb !== 'postgres' && 'needs Postgres (TEST_DB=postgres)',
  }, async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Listen 1' } })).body.talk;
    await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    assert.equal(t.services.talks.listCache.stats().active, true);
    const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    try {
      const killed = await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [
        `smalltalk listen ${t.config.DATABASE_SCHEMA}`,
      ]);
      assert.equal(killed.rowCount, 1, 'one listener per app');
      await waitFor(() => !t.services.talks.listCache.stats().active, 'the cache to stop serving', 3000);
      await t.services.db.db.updateTable('talks').set({ name: 'Listen 2' }).where('id', '=', talk.id).execute();
      assert.ok(names((await api(t, 'GET', '/api/v1/partners/talks', { token: p.token })).body).includes('Listen 2'));
      await waitFor(() => t.services.talks.listCache.stats().active, 'the listener to reconnect', 5000);
      await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
      assert.ok(t.services.talks.listCache.stats().pages >= 1);
    } finally {
      await admin.end();
    }
  });

  test('TALK_LIST_CACHE_MB=0 turns it off', async () => {
    const off = await startApp({ env: { TALK_LIST_CACHE_MB: '0' } });
    try {
      const q = await createPartner(off, 'NoCache');
      await api(off, 'GET', '/api/v1/partners/talks', { token: q.token });
      assert.deepEqual(off.services.talks.listCache.stats(), { active: false, pages: 0, bytes: 0 });
    } finally {
      await off.close();
    }
  });
});
