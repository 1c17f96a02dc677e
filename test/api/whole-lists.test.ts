import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

/**
 * The API doc shows the talk, recording and group lists whole, and partners' clients were written
 * to it: without `limit` or `cursor` a list has every row; pages only when asked for. Themes (ours,
 * not the doc's) list the same way.
 */
describe('lists without limit or cursor are whole', () => {
  let t: TestApp;
  let p: TestPartner;
  const count = 320;
  before(async () => {
    t = await startApp({ background: false });
    p = await createPartner(t, 'Many');
    const other = await createPartner(t, 'Other');
    const db = t.services.db.db;
    // A few hundred of each, made in one query apiece (same created_at: ties broken by id).
    for (const partner of [p.partnerId, other.partnerId]) {
      await sql`insert into talks (partner_id, name, short_code)
        select ${partner}::uuid, 'talk ' || g, ${partner.slice(0, 8)} || '-' || g from generate_series(1, ${count}) g`.execute(db);
      await sql`insert into groups (partner_id, name, rank) select ${partner}::uuid, 'group ' || g, g from generate_series(1, ${count}) g`.execute(db);
      await sql`insert into themes (partner_id, name) select ${partner}::uuid, 'theme ' || g from generate_series(1, ${count}) g`.execute(db);
      await sql`insert into recordings (partner_id, talk_id, file_name, storage_key)
        select partner_id, id, 'r.webm', 'k/' || id from talks where partner_id = ${partner}::uuid`.execute(db);
    }
  });
  after(() => t.close());

  for (const [path, key] of [
    ['/api/v1/partners/talks', 'talks'],
    ['/api/v1/partners/recordings', 'recordings'],
    ['/api/v1/partners/groups', 'groups'],
    ['/api/v1/partners/themes', 'themes'],
  ] as const) {
    test(`${path}: every row without limit or cursor; pages of the asked size with limit; 50 with a cursor alone`, async () => {
      const whole = await api(t, 'GET', path, { token: p.token });
      assert.equal(whole.status, 200);
      const ids: string[] = whole.body[key].map((row: { id: string }) => row.id);
      assert.equal(ids.length, count, `${key}: all ${count} rows`);
      assert.equal(new Set(ids).size, count);
      assert.equal(whole.body.next_cursor, null);

      const first = await api(t, 'GET', `${path}?limit=100`, { token: p.token });
      assert.equal(first.body[key].length, 100);
      assert.ok(first.body.next_cursor);
      assert.deepEqual(
        first.body[key].map((row: { id: string }) => row.id),
        ids.slice(0, 100),
        'the first page is the head of the whole list',
      );
      const next = await api(t, 'GET', `${path}?cursor=${first.body.next_cursor}`, { token: p.token });
      assert.equal(next.status, 200);
      assert.deepEqual(
        next.body[key].map((row: { id: string }) => row.id),
        ids.slice(100, 150),
      );
      assert.ok(next.body.next_cursor);
    });
  }

  test('the whole talk list is kept by the page cache and answered 304 to a client that has it', async () => {
    const firstRead = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token });
    const etag = firstRead.headers.get('etag');
    assert.ok(etag);
    const again = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'one more' } });
    const after = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token, headers: { 'if-none-match': etag } });
    assert.equal(after.status, 200);
    assert.equal(after.body.talks.length, count + 1);
    assert.equal(after.body.talks[0].name, 'one more');
  });
});
