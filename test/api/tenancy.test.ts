import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

/** Another partner's ids are always 404 (never 403, never their data), on every partner route. */
describe('tenancy', () => {
  let t: TestApp;
  let owner: TestPartner;
  let intruder: TestPartner;
  const ids = { talk: '', group: '', theme: '', recording: '' };
  before(async () => {
    t = await startApp();
    owner = await createPartner(t, 'Owner');
    intruder = await createPartner(t, 'Intruder');
    ids.talk = (await api(t, 'POST', '/api/p/talk', { token: owner.token, json: { name: 'Private' } })).body.talk.id;
    ids.group = (await api(t, 'POST', '/api/v1/partners/groups', { token: owner.token, json: { name: 'Private group' } })).body.id;
    ids.theme = (await api(t, 'POST', '/api/v1/partners/themes', { token: owner.token, json: { name: 'Private theme' } })).body.theme.id;
    await api(t, 'PUT', '/api/v1/partners/group_talks', { token: owner.token, json: { group_id: ids.group, talk_ids: [ids.talk] } });
    const rec = await t.services.recordings.repo.insert(t.services.db.db, owner.partnerId, {
      talk_id: ids.talk,
      file_name: '12345678.mp4',
      storage_key: 'x/12345678.mp4',
      status: 'ready',
    });
    ids.recording = rec.id;
  });
  after(() => t.close());

  const routes: [string, (i: typeof ids) => string, unknown?][] = [
    ['GET', (i) => `/api/v1/partners/talks?talk_id=${i.talk}`],
    ['GET', (i) => `/api/v1/partners/talks/${i.talk}`],
    ['PATCH', (i) => `/api/v1/partners/talks/${i.talk}`, { name: 'Hijacked' }],
    ['DELETE', (i) => `/api/v1/partners/talks/${i.talk}`],
    ['POST', (i) => `/api/v1/partners/talks/${i.talk}/end`],
    ['GET', (i) => `/api/v1/partners/groups/${i.group}`],
    ['PATCH', (i) => `/api/v1/partners/groups/${i.group}`, { name: 'Hijacked' }],
    ['DELETE', (i) => `/api/v1/partners/groups/${i.group}`],
    ['GET', (i) => `/api/v1/partners/group_talks?group_id=${i.group}`],
    ['PUT', () => '/api/v1/partners/group_talks', 'group'],
    ['DELETE', () => '/api/v1/partners/group_talks', 'group'],
    ['GET', (i) => `/api/v1/partners/themes/${i.theme}`],
    ['PATCH', (i) => `/api/v1/partners/themes/${i.theme}`, { name: 'Hijacked' }],
    ['DELETE', (i) => `/api/v1/partners/themes/${i.theme}`],
    ['GET', (i) => `/api/v1/partners/recordings/${i.recording}`],
    ['PATCH', (i) => `/api/v1/partners/recordings/${i.recording}`, { share_permission: 'public' }],
    ['DELETE', (i) => `/api/v1/partners/recordings/${i.recording}`],
  ];

  for (const [method, path, body] of routes) {
    test(`${method} ${path({ talk: ':talk', group: ':group', theme: ':theme', recording: ':recording' })} with another partner's token → 404`, async () => {
      const json = body === 'group' ? { group_id: ids.group, talk_ids: [ids.talk] } : body;
      const res = await api(t, method, path(ids), { token: intruder.token, json });
      assert.equal(res.status, 404, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'not_found');
    });
  }

  test("the intruder's own talk cannot be put into the owner's group, nor the owner's talk into the intruder's group", async () => {
    const mine = (await api(t, 'POST', '/api/v1/partners/groups', { token: intruder.token, json: { name: 'Mine' } })).body.id;
    const res = await api(t, 'PUT', '/api/v1/partners/group_talks', { token: intruder.token, json: { group_id: mine, talk_ids: [ids.talk] } });
    assert.equal(res.status, 404);
    assert.equal(res.body.error.field, 'talk_ids');
  });

  test("lists never show another partner's rows, and a foreign theme_id is unknown (default theme + warning)", async () => {
    const talks = await api(t, 'GET', '/api/v1/partners/talks', { token: intruder.token });
    assert.deepEqual(talks.body.talks, []);
    const groups = await api(t, 'GET', '/api/v1/partners/groups', { token: intruder.token });
    assert.deepEqual(
      groups.body.groups.map((g: { name: string; partner_id: string }) => [g.name, g.partner_id]),
      [['Mine', intruder.partnerId]],
    );
    const recs = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${ids.talk}`, { token: intruder.token });
    assert.deepEqual(recs.body.recordings, []);
    const themed = await api(t, 'POST', '/api/p/talk', { token: intruder.token, json: { name: 'x', theme_id: ids.theme } });
    assert.equal(themed.body.talk.theme_id, null);
    assert.equal(themed.body.warnings[0].code, 'unknown_theme_id');
  });

  test("after all that, the owner's data is intact", async () => {
    const talk = await api(t, 'GET', `/api/v1/partners/talks/${ids.talk}`, { token: owner.token });
    assert.equal(talk.body.talk.name, 'Private');
    assert.equal(talk.body.talk.status, 'scheduled');
    const group = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${ids.group}`, { token: owner.token });
    assert.equal(group.body.group.name, 'Private group');
    assert.equal(group.body.talks.length, 1);
    const rec = await api(t, 'GET', `/api/v1/partners/recordings/${ids.recording}`, { token: owner.token });
    assert.equal(rec.body.recording.share_permission, 'private');
  });
});
