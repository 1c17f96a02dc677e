import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

const documentedTalkFields = [
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
];

/** Follows next_cursor from the first page to the last; the ids seen, in order, and the page count. */
async function walkTalkPages(t: TestApp, token: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res: { body: { talks: { id: string }[]; next_cursor: string | null } } = await api(
      t,
      'GET',
      `/api/v1/partners/talks?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      { token },
    );
    ids.push(...res.body.talks.map((x) => x.id));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

describe('talks', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Acme');
  });
  after(() => t.close());

  test("the doc's curl example creates a talk with every documented field", async () => {
    // The doc's example JSON, including the empty start_time and a theme id from another account.
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
    for (const field of documentedTalkFields) assert.ok(field in talk, `talk has ${field}`);
    assert.equal(talk.name, 'My Talk');
    assert.equal(talk.room_type, 'hosted_events');
    assert.equal(talk.mic_behavior, 'start_off');
    assert.equal(talk.start_time, null);
    assert.equal(talk.theme_id, null);
    assert.equal(talk.partner_id, p.partnerId);
    assert.equal(talk.created_by_id, p.userId);
    assert.equal(talk.price, null);
    assert.equal(talk.currency, null);
    assert.equal(talk.thumbnail_url, null);
    assert.match(talk.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    assert.match(talk.short_url, new RegExp(`^${t.url}/t/[a-z0-9]{10}$`));
    assert.deepEqual(
      res.body.warnings.map((w: { code: string; field: string }) => [w.code, w.field]),
      [['unknown_theme_id', 'theme_id']],
    );
  });

  test('defaults: room_type default, access anyone, mic start_on, subscriptions off, recording on; no warnings key', async () => {
    const res = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Defaults' } });
    assert.equal(res.status, 200);
    const talk = res.body.talk;
    assert.equal(talk.room_type, 'default');
    assert.equal(talk.access, 'anyone');
    assert.equal(talk.mic_behavior, 'start_on');
    assert.equal(talk.subscriptions_allowed, false);
    assert.equal(talk.recording, true);
    assert.equal(talk.status, 'scheduled');
    assert.equal(talk.webrtc_listener_limit, null, "the server's default");
    assert.equal('warnings' in res.body, false);
  });

  test('webrtc_listener_limit: set on create (JSON or form), changed and cleared by PATCH, listed alike; a negative one is a 400', async () => {
    const json = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Big show', room_type: 'hosted_events', webrtc_listener_limit: 50 } });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.equal(json.body.talk.webrtc_listener_limit, 50);
    const form = await api(t, 'POST', '/api/p/talk', { token: p.token, body: 'name=Form+show&room_type=hosted_events&webrtc_listener_limit=0' });
    assert.equal(form.status, 200, JSON.stringify(form.body));
    assert.equal(form.body.talk.webrtc_listener_limit, 0);
    const id = json.body.talk.id;
    const patched = await api(t, 'PATCH', `/api/v1/partners/talks/${id}`, { token: p.token, json: { webrtc_listener_limit: 10 } });
    assert.equal(patched.body.talk.webrtc_listener_limit, 10);
    const listed = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${id}`, { token: p.token });
    assert.equal(listed.body.talks[0].webrtc_listener_limit, 10);
    const cleared = await api(t, 'PATCH', `/api/v1/partners/talks/${id}`, { token: p.token, json: { webrtc_listener_limit: null } });
    assert.equal(cleared.body.talk.webrtc_listener_limit, null);
    const bad = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Bad', webrtc_listener_limit: -1 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'validation_failed');
  });

  test('a form-encoded body works, with booleans as strings, and unknown fields are ignored', async () => {
    const res = await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      body: 'name=Form+Talk&access=invite_only&subscriptions_allowed=true&description=Hello&legacy_field=whatever&start_time=2030-01-02T10:00:00Z&end_time=2030-01-02T11:00:00%2B00:00',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.talk.name, 'Form Talk');
    assert.equal(res.body.talk.access, 'invite_only');
    assert.equal(res.body.talk.subscriptions_allowed, true);
    assert.equal(res.body.talk.description, 'Hello');
    assert.equal(res.body.talk.start_time, '2030-01-02T10:00:00.000+00:00');
    assert.equal(res.body.talk.end_time, '2030-01-02T11:00:00.000+00:00');
    assert.equal('legacy_field' in res.body.talk, false);
  });

  test('the token works with or without "Bearer "', async () => {
    const res = await api(t, 'POST', '/api/p/talk', {
      headers: { authorization: p.token },
      json: { name: 'Raw token' },
    });
    assert.equal(res.status, 200);
  });

  for (const [body, field, pattern] of [
    [{}, 'name', /name is required/],
    [{ name: '   ' }, 'name', /must not be empty/],
    [{ name: 'x'.repeat(201) }, 'name', /at most 200/],
    [{ name: 'x', room_type: 'party' }, 'room_type', /default, questions, hosted_events|must be equal/],
    [{ name: 'x', access: 'everyone' }, 'access', /./],
    [{ name: 'x', mic_behavior: 'loud' }, 'mic_behavior', /./],
    [{ name: 'x', start_time: 'next tuesday' }, 'start_time', /ISO 8601/],
    [{ name: 'x', start_time: '2030-01-02T10:00:00Z', end_time: '2030-01-02T09:00:00Z' }, 'end_time', /after start_time/],
    [{ name: 'x', subscriptions_allowed: 'maybe' }, 'subscriptions_allowed', /boolean/],
    [{ name: 'x', schedule: 'FREQ=WEEKLY' }, 'schedule', /needs a start_time/],
    [{ name: 'x', start_time: '2030-01-02T10:00:00Z', schedule: 'EVERY THURSDAY' }, 'schedule', /RRULE/],
    [{ name: 'x', thumbnail_url: 'javascript:alert(1)' }, 'thumbnail_url', /http/],
  ] as const) {
    test(`validation: ${JSON.stringify(body).slice(0, 60)} → 400 on ${field}`, async () => {
      const res = await api(t, 'POST', '/api/p/talk', { token: p.token, json: body });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'validation_failed');
      assert.equal(res.body.error.field, field);
      assert.match(res.body.error.message, pattern);
      assert.match(res.body.error.request_id, /./);
    });
  }

  test('a theme of this partner is applied; the default theme otherwise', async () => {
    const theme = await api(t, 'POST', '/api/v1/partners/themes', { token: p.token, json: { name: 'Dark', colors: { background: '#000000' } } });
    assert.equal(theme.status, 200);
    const res = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Themed', theme_id: theme.body.theme.id } });
    assert.equal(res.body.talk.theme_id, theme.body.theme.id);
    assert.equal('warnings' in res.body, false);
  });

  test('GET talks lists newest first; talk_id in the query string (curl -G -d) returns just that talk', async () => {
    const a = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'First' } })).body.talk;
    const b = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Second' } })).body.talk;
    const list = await api(t, 'GET', '/api/v1/partners/talks', { token: p.token, headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(list.status, 200);
    assert.equal(list.body.error, null);
    const ids = list.body.talks.map((x: { id: string }) => x.id);
    assert.ok(ids.indexOf(b.id) < ids.indexOf(a.id), 'newest first');
    const one = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${a.id}`, { token: p.token });
    assert.equal(one.status, 200);
    assert.deepEqual(
      one.body.talks.map((x: { id: string }) => x.id),
      [a.id],
    );
    assert.equal(one.body.talks[0].short_url, a.short_url);
  });

  test('the list (JSON made by the database) shows each talk exactly as the single-talk endpoints do', async () => {
    const q = await createPartner(t, 'SameJson');
    const theme = await api(t, 'POST', '/api/v1/partners/themes', { token: q.token, json: { name: 'Dark' } });
    assert.equal(theme.status, 200, JSON.stringify(theme.body));
    const start = new Date(Date.now() + 3 * 86_400_000);
    const full = await api(t, 'POST', '/api/p/talk', {
      token: q.token,
      json: {
        name: 'Everything "quoted" \\ and ünïcode\n',
        description: 'with a <tag> & tab\t',
        room_type: 'questions',
        access: 'invite_only',
        mic_behavior: 'start_off',
        start_time: start.toISOString(),
        end_time: new Date(start.getTime() + 5_400_000).toISOString(),
        price: 12.5,
        currency: 'EUR',
        thumbnail_url: 'https://example.org/x.png',
        subscriptions_allowed: true,
        recording: false,
        theme_id: theme.body.theme.id,
        schedule: 'RRULE:FREQ=WEEKLY;COUNT=3',
      },
    });
    assert.equal(full.status, 200, JSON.stringify(full.body));
    await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'Bare' } });
    const list = await api(t, 'GET', '/api/v1/partners/talks?limit=200', { token: q.token });
    assert.equal(list.status, 200);
    assert.match(String(list.headers.get('content-type')), /^application\/json; charset=utf-8/);
    const raw = await (await fetch(`${t.url}/api/v1/partners/talks?limit=200`, { headers: { authorization: `Bearer ${q.token}` } })).text();
    assert.equal(raw, JSON.stringify(JSON.parse(raw)), 'compact JSON, as JSON.stringify writes it');
    assert.ok(list.body.talks.length >= 4, 'the talk, its two occurrences and the bare one');
    for (const item of list.body.talks) {
      const one = await api(t, 'GET', `/api/v1/partners/talks/${item.id}`, { token: q.token });
      assert.deepEqual(item, one.body.talk);
      assert.deepEqual(Object.keys(item), Object.keys(one.body.talk), 'same keys in the same order');
    }
    const listed = list.body.talks.find((x: { id: string }) => x.id === full.body.talk.id);
    assert.deepEqual(listed, full.body.talk);
    assert.equal(listed.price, 12.5);
    assert.equal(listed.theme_id, theme.body.theme.id);
  });

  test('an unknown or malformed talk_id is a 404, never a 500', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'df6829ae-35bf-42ls-851e-sdfoijg82224j']) {
      const res = await api(t, 'GET', `/api/v1/partners/talks?talk_id=${id}`, { token: p.token });
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'not_found');
    }
  });

  test('PATCH changes fields and validates; DELETE removes; end marks the talk ended', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Editable', start_time: '2030-05-01T10:00:00Z' } })).body.talk;
    const patched = await api(t, 'PATCH', `/api/v1/partners/talks/${talk.id}`, {
      token: p.token,
      json: { name: 'Edited', mic_behavior: 'start_off', end_time: '2030-05-01T12:00:00Z' },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.talk.name, 'Edited');
    assert.equal(patched.body.talk.mic_behavior, 'start_off');
    assert.equal(patched.body.talk.end_time, '2030-05-01T12:00:00.000+00:00');
    assert.notEqual(patched.body.talk.updated_at, talk.updated_at);
    const bad = await api(t, 'PATCH', `/api/v1/partners/talks/${talk.id}`, { token: p.token, json: { end_time: '2030-05-01T09:00:00Z' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'end_time');
    const ended = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
    assert.equal(ended.body.talk.status, 'ended');
    const deleted = await api(t, 'DELETE', `/api/v1/partners/talks/${talk.id}`, { token: p.token });
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.talk.id, talk.id);
    const gone = await api(t, 'GET', `/api/v1/partners/talks/${talk.id}`, { token: p.token });
    assert.equal(gone.status, 404);
  });

  test('filters: room_type and start time range', async () => {
    const q = await createPartner(t, 'Filters');
    await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'Q', room_type: 'questions', start_time: '2031-01-01T00:00:00Z' } });
    await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'D', room_type: 'default', start_time: '2031-06-01T00:00:00Z' } });
    const questions = await api(t, 'GET', '/api/v1/partners/talks?room_type=questions', { token: q.token });
    assert.deepEqual(
      questions.body.talks.map((x: { name: string }) => x.name),
      ['Q'],
    );
    const range = await api(t, 'GET', '/api/v1/partners/talks?start_after=2031-03-01T00:00:00Z&start_before=2031-12-01T00:00:00Z', { token: q.token });
    assert.deepEqual(
      range.body.talks.map((x: { name: string }) => x.name),
      ['D'],
    );
    const badType = await api(t, 'GET', '/api/v1/partners/talks?room_type=party', { token: q.token });
    assert.equal(badType.status, 400);
  });

  test('cursor pagination walks every talk once, in a stable order', async () => {
    const q = await createPartner(t, 'Pages');
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: `T${i}` } })).body.talk.id);
    const { ids: seen, pages } = await walkTalkPages(t, q.token, 3);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...created].reverse());
    const tooBig = await api(t, 'GET', '/api/v1/partners/talks?limit=500', { token: q.token });
    assert.equal(tooBig.status, 400);
    const badCursor = await api(t, 'GET', '/api/v1/partners/talks?cursor=nonsense', { token: q.token });
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.body.error.field, 'cursor');
  });

  test('pagination does not skip talks created in the same transaction (same created_at to the microsecond)', async () => {
    const q = await createPartner(t, 'SameInstant');
    const start = new Date(Date.now() + 86_400_000);
    const res = await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'Daily', start_time: start.toISOString(), schedule: 'RRULE:FREQ=DAILY' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const all = await api(t, 'GET', '/api/v1/partners/talks?limit=200', { token: q.token });
    assert.ok(all.body.talks.length > 20, `a daily series has many occurrences, got ${all.body.talks.length}`);
    assert.deepEqual(
      (await walkTalkPages(t, q.token, 7)).ids,
      all.body.talks.map((x: { id: string }) => x.id),
    );
  });

  test('a weekly schedule materializes upcoming occurrences pointing at the first talk; schedule null ends the series', async () => {
    const q = await createPartner(t, 'Series');
    const start = new Date(Date.now() + 86_400_000);
    start.setUTCHours(16, 0, 0, 0);
    const res = await api(t, 'POST', '/api/p/talk', {
      token: q.token,
      json: { name: 'Weekly', start_time: start.toISOString(), end_time: new Date(start.getTime() + 3_600_000).toISOString(), schedule: 'RRULE:FREQ=WEEKLY' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const head = res.body.talk;
    assert.equal(head.schedule, 'FREQ=WEEKLY');
    const occurrences = await api(t, 'GET', `/api/v1/partners/talks?schedule_talk_id=${head.id}&limit=200`, { token: q.token });
    const starts = occurrences.body.talks.map((x: { start_time: string }) => Date.parse(x.start_time)).sort();
    assert.ok(starts.length >= 11 && starts.length <= 13, `about 12 weekly occurrences in 90 days, got ${starts.length}`);
    assert.equal(starts[0] - start.getTime(), 7 * 86_400_000);
    for (const o of occurrences.body.talks) {
      assert.equal(o.schedule_talk_id, head.id);
      assert.equal(o.schedule, null);
      assert.equal(Date.parse(o.end_time) - Date.parse(o.start_time), 3_600_000);
    }
    const ended = await api(t, 'PATCH', `/api/v1/partners/talks/${head.id}`, { token: q.token, json: { schedule: null } });
    assert.equal(ended.body.talk.schedule, null);
    const after = await api(t, 'GET', `/api/v1/partners/talks?schedule_talk_id=${head.id}`, { token: q.token });
    assert.equal(after.body.talks.length, 0);
  });

  test('the hourly maintenance tops a series back up to its horizon', async () => {
    const q = await createPartner(t, 'Topup');
    const start = new Date(Date.now() + 3_600_000);
    const head = (await api(t, 'POST', '/api/p/talk', { token: q.token, json: { name: 'Daily', start_time: start.toISOString(), schedule: 'FREQ=DAILY' } }))
      .body.talk;
    const count = async () => (await api(t, 'GET', `/api/v1/partners/talks?schedule_talk_id=${head.id}&limit=200`, { token: q.token })).body.talks.length;
    const before = await count();
    assert.ok(before >= 50, `daily occurrences are materialized (${before})`);
    await t.services.db.db
      .deleteFrom('talks')
      .where('schedule_talk_id', '=', head.id)
      .where('start_time', '>', new Date(Date.now() + 30 * 86_400_000))
      .execute();
    // Deleted behind the service's back: say so, as the code that changes talks does.
    t.services.talks.changed(head.partner_id);
    assert.ok((await count()) < before);
    const job = t.services.background.find((b) => b.name === 'maintenance') as unknown as { runOnce(): Promise<void> };
    await job.runOnce();
    assert.equal(await count(), before);
  });
});
