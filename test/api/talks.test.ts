import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, type TestPartner, api, createPartner, startApp } from '../helpers.js';

describe('talks', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
  });
  after(() => t.close());

  test("the doc's curl example creates a talk with every documented field", async () => {
    // The doc's example, byte for byte in its JSON, including the empty start_time and an unknown theme.
    const res = await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      json: {
        name: 'My Talk',
        room_type: 'hosted_events',
        access: 'anyone',
        mic_behavior: 'start_off',
        start_time: '',
        theme_id: '690c6c3c-db13-4b97-aad9-51aab24a23d8',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.error, null);
    const talk = res.body.talk;
    for (const field of [
      'id',
      'created_at',
      'updated_at',
      'name',
      'thumbnail_url',
      'created_by_id',
      'partner_id',
      'price',
      'currency',
      'start_time',
      'short_url',
      'schedule',
      'access',
      'mic_behavior',
      'description',
      'end_time',
      'room_type',
      'theme_id',
      'subscriptions_allowed',
      'schedule_talk_id',
    ]) {
      assert.ok(field in talk, `talk has ${field}`);
    }
    assert.equal(talk.name, 'My Talk');
    assert.equal(talk.room_type, 'hosted_events');
    assert.equal(talk.mic_behavior, 'start_off');
    assert.equal(talk.start_time, null);
    assert.equal(talk.theme_id, null);
    assert.equal(talk.partner_id, p.partnerId);
    assert.equal(talk.created_by_id, p.userId);
    assert.match(talk.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    assert.match(talk.short_url, new RegExp(`^${t.url}/t/[a-z0-9]{10}$`));
    assert.deepEqual(
      res.body.warnings.map((w: { code: string }) => w.code),
      ['unknown_theme_id'],
    );
  });
});
