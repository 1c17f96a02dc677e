import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

describe('groups', () => {
  let t: TestApp;
  let p: TestPartner;
  let talks: string[];
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Acme');
    talks = [];
    for (const name of ['A', 'B', 'C']) talks.push((await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name } })).body.talk.id);
  });
  after(() => t.close());

  async function newGroup(name: string, extra: Record<string, unknown> = {}) {
    const res = await api(t, 'POST', '/api/v1/partners/groups', { token: p.token, json: { name, ...extra } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  }

  test("creating a group answers with its fields at the top level (as the doc's sample) and under group", async () => {
    // The doc's example sends an "id" too: it is ignored.
    const body = await newGroup('Smalltalk Community', { id: 'df6829ae-35bf-42ls-851e-sdfoijg82224j', description: 'join us!', rank: 4, visible: true });
    for (const field of ['id', 'name', 'description', 'rank', 'visible', 'currency', 'price', 'partner_id']) {
      assert.ok(field in body, `top-level ${field}`);
      assert.deepEqual(body[field], body.group[field]);
    }
    assert.notEqual(body.id, 'df6829ae-35bf-42ls-851e-sdfoijg82224j');
    assert.equal(body.name, 'Smalltalk Community');
    assert.equal(body.rank, 4);
    assert.equal(body.partner_id, p.partnerId);
    assert.equal(body.error, null);
  });

  test('rank keeps fractions, visible defaults to true, a missing rank goes after the last group; the list is ordered by rank', async () => {
    const q = await createPartner(t, 'Ranks');
    const mk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/v1/partners/groups', { token: q.token, json })).body;
    const lunch = await mk({ name: "Lunch 'n Learns", rank: 2.00000000000001 });
    const first = await mk({ name: 'First', rank: 1 });
    const last = await mk({ name: 'Appended' });
    assert.equal(lunch.rank, 2.00000000000001);
    assert.equal(lunch.visible, true);
    assert.ok(last.rank > lunch.rank);
    const list = await api(t, 'GET', '/api/v1/partners/groups', { token: q.token });
    assert.deepEqual(
      list.body.groups.map((g: { id: string }) => g.id),
      [first.id, lunch.id, last.id],
    );
    assert.equal(list.body.next_cursor, null);
    const hidden = await mk({ name: 'Hidden', visible: 'false' });
    assert.equal(hidden.visible, false);
  });

  test("PUT group_talks with the doc's exact curl: form fields under a JSON content type, talk_ids=[a, b]", async () => {
    const g = await newGroup('Doc curl');
    const res = await api(t, 'PUT', '/api/v1/partners/group_talks', {
      token: p.token,
      contentType: 'application/json; charset=utf-8',
      body: `group_id=${g.id}&talk_ids=[${talks[0]}, ${talks[1]}]`,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.talk_groups.map((x: { talk_id: string }) => x.talk_id).sort(), [talks[0], talks[1]].sort());
    for (const row of res.body.talk_groups) {
      assert.equal(row.group_id, g.id);
      assert.equal(row.partner_id, p.partnerId);
    }
  });

  const shapes: [string, (gid: string) => { body?: string; json?: unknown; contentType?: string; query?: string }][] = [
    ['a JSON array', (gid) => ({ json: { group_id: gid, talk_ids: [talks[1], talks[2]] } })],
    ['a form string with quotes', (gid) => ({ body: `group_id=${gid}&talk_ids=${encodeURIComponent(`["${talks[1]}", "${talks[2]}"]`)}` })],
    ['repeated talk_ids fields', (gid) => ({ body: `group_id=${gid}&talk_ids=${talks[1]}&talk_ids=${talks[2]}` })],
    ['talk_ids[] fields', (gid) => ({ body: `group_id=${gid}&talk_ids%5B%5D=${talks[1]}&talk_ids%5B%5D=${talks[2]}` })],
    ['a comma-separated string', (gid) => ({ json: { group_id: gid, talk_ids: `${talks[1]},${talks[2]}` } })],
    ['the query string', (gid) => ({ query: `?group_id=${gid}&talk_ids=${talks[1]},${talks[2]}` })],
  ];
  for (const [name, shape] of shapes) {
    test(`PUT group_talks accepts talk_ids as ${name} and sets exactly that list`, async () => {
      const g = await newGroup(name);
      await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: [talks[0]] } });
      const { query, ...rest } = shape(g.id);
      const res = await api(t, 'PUT', `/api/v1/partners/group_talks${query ?? ''}`, { token: p.token, ...rest });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.talk_groups.map((x: { talk_id: string }) => x.talk_id).sort(), [talks[1], talks[2]].sort());
    });
  }

  test('GET group_talks (curl -G -d group_id=…) returns the group and its talks with the talk fields', async () => {
    const g = await newGroup('With talks', { description: 'Weekly' });
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: talks } });
    const res = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${g.id}`, { token: p.token });
    assert.equal(res.status, 200);
    assert.equal(res.body.group.id, g.id);
    assert.equal(res.body.group.description, 'Weekly');
    assert.equal(res.body.talks.length, 3);
    for (const field of ['id', 'name', 'description', 'start_time', 'end_time', 'schedule_talk_id', 'theme_id', 'subscriptions_allowed', 'mic_behavior']) {
      assert.ok(field in res.body.talks[0], field);
    }
    const missing = await api(t, 'GET', '/api/v1/partners/group_talks', { token: p.token });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.field, 'group_id');
  });

  test('DELETE group_talks removes the named talks (form body, as the doc) and answers with what remains; without talk_ids removes all', async () => {
    const g = await newGroup('Removal');
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: talks } });
    const res = await api(t, 'DELETE', '/api/v1/partners/group_talks', {
      token: p.token,
      contentType: 'application/json; charset=utf-8',
      body: `group_id=${g.id}&talk_ids=[${talks[0]}, ${talks[1]}]`,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.talk_groups.map((x: { talk_id: string }) => x.talk_id),
      [talks[2]],
    );
    const all = await api(t, 'DELETE', `/api/v1/partners/group_talks?group_id=${g.id}`, { token: p.token });
    assert.deepEqual(all.body.talk_groups, []);
  });

  test('DELETE group_talks with ids that only look like UUIDs removes the real ones and names no error (they were a 500)', async () => {
    const g = await newGroup('Look-alikes');
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: talks } });
    const res = await api(t, 'DELETE', '/api/v1/partners/group_talks', {
      token: p.token,
      body: `group_id=${g.id}&talk_ids=[${'-'.repeat(36)}, 0-00000000000000000000000000000000000, ${talks[0]}]`,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.talk_groups.map((x: { talk_id: string }) => x.talk_id).sort(), [talks[1], talks[2]].sort());
  });

  test('an unknown talk id in PUT is a 404 naming it, and changes nothing', async () => {
    const g = await newGroup('Atomic');
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: [talks[0]] } });
    const unknown = '00000000-0000-4000-8000-000000000001';
    const res = await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: [talks[1], unknown] } });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.field, 'talk_ids');
    assert.match(res.body.error.message, new RegExp(unknown));
    const now = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${g.id}`, { token: p.token });
    assert.deepEqual(
      now.body.talks.map((x: { id: string }) => x.id),
      [talks[0]],
    );
    const noIds = await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id } });
    assert.equal(noIds.status, 400);
    assert.equal(noIds.body.error.field, 'talk_ids');
    const noGroup = await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { talk_ids: [talks[0]] } });
    assert.equal(noGroup.status, 400);
    assert.equal(noGroup.body.error.field, 'group_id');
  });

  test('deleting a talk removes it from its groups; PATCH and DELETE of a group', async () => {
    const g = await newGroup('Lifecycle');
    const extra = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Temporary' } })).body.talk.id;
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: p.token, json: { group_id: g.id, talk_ids: [extra, talks[0]] } });
    await api(t, 'DELETE', `/api/v1/partners/talks/${extra}`, { token: p.token });
    const after = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${g.id}`, { token: p.token });
    assert.deepEqual(
      after.body.talks.map((x: { id: string }) => x.id),
      [talks[0]],
    );
    const patched = await api(t, 'PATCH', `/api/v1/partners/groups/${g.id}`, { token: p.token, json: { name: 'Renamed', visible: false, rank: 0.5 } });
    assert.equal(patched.body.group.name, 'Renamed');
    assert.equal(patched.body.group.visible, false);
    assert.equal(patched.body.group.rank, 0.5);
    const deleted = await api(t, 'DELETE', `/api/v1/partners/groups/${g.id}`, { token: p.token });
    assert.equal(deleted.status, 200);
    const talkStill = await api(t, 'GET', `/api/v1/partners/talks/${talks[0]}`, { token: p.token });
    assert.equal(talkStill.status, 200, 'talks outlive their groups');
    const gone = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${g.id}`, { token: p.token });
    assert.equal(gone.status, 404);
  });

  test('validation: a group needs a name', async () => {
    const res = await api(t, 'POST', '/api/v1/partners/groups', { token: p.token, json: { description: 'nameless' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'name');
  });
});
