import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { EventName } from '../../src/webhooks/events.js';
import { DELIVER_QUEUE } from '../../src/webhooks/outbox.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, freePort, startApp } from '../support/app.js';
import { Prng, testSeed } from '../support/seed.js';
import { waitFor } from '../support/wait.js';
import { Receiver } from './receiver.js';

/** Counts the delivery worker's pg-boss fetches (its polls) until restored. */
function countFetches(t: TestApp) {
  const boss = t.services.queue.boss;
  const fetch = boss.fetch.bind(boss);
  let last = 0;
  let waiters: ((gapMs: number) => void)[] = [];
  const counter = {
    count: 0,
    restore() {
      boss.fetch = fetch;
    },
    /** Resolves at the next fetch. */
    next: () => new Promise<number>((resolve) => waiters.push(resolve)),
    /** Resolves at a fetch that comes `ms` or more after the one before it: the worker is at its idle poll. */
    async idling(ms: number, what = 'the worker to poll at its idle rate') {
      const deadline = Date.now() + 15_000;
      while ((await counter.next()) < ms) if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    },
  };
  boss.fetch = ((name: string, ...rest: unknown[]) => {
    if (name === DELIVER_QUEUE) {
      counter.count++;
      const now = Date.now();
      const gap = last ? now - last : 0;
      last = now;
      const woken = waiters;
      waiters = [];
      for (const w of woken) w(gap);
    }
    return (fetch as (...a: unknown[]) => unknown)(name, ...rest);
  }) as typeof boss.fetch;
  return counter;
}

const base = '/api/v1/partners/webhooks';

async function emit(t: TestApp, partnerId: string, name: EventName, body: Record<string, unknown>) {
  return t.services.db.db.transaction().execute((tx) => t.services.events.emit(tx, partnerId, name, body));
}

async function addWebhook(t: TestApp, p: TestPartner, url: string, extra: Record<string, unknown> = {}) {
  const res = await api(t, 'POST', base, { token: p.token, json: { url, ...extra } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.webhook as { id: string; secret: string; events: string[] };
}

async function deliveriesOf(t: TestApp, p: TestPartner, id: string, query = '') {
  const res = await api(t, 'GET', `${base}/${id}/deliveries${query}`, { token: p.token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.deliveries as {
    id: string;
    status: string;
    event_id: string;
    event_name: string;
    next_attempt_at: string | null;
    attempts: { status_code: number | null; attempted_at: string; error: string | null }[];
  }[];
}

describe('webhooks', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  const receivers: Receiver[] = [];
  const receiver = async () => {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  };
  before(async () => {
    t = await startApp({ env: { WEBHOOK_RETRY_SCHEDULE: '0,0.3,0.6', WEBHOOK_TIMEOUT_MS: '1000' } });
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
  });
  after(async () => {
    for (const r of receivers) await r.close();
    await t.close();
  });

  test('an emitted event arrives signed, verifiable with standardwebhooks, in the documented body format', async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url, { description: 'main' });
    assert.match(hook.secret, /^whsec_[A-Za-z0-9+/=]+$/);
    assert.deepEqual(hook.events, ['talk_join', 'recording_saved', 'transcription_ready', 'next_caption']);
    const body = { user_id: 'u1', username: 'eartothenoise', photo_url: null, name: 'Matt Hamilton', uid: null, talk_id: 't1' };
    const { id } = await emit(t, p.partnerId, 'talk_join', body);
    await r.until((x) => x.length === 1, 'the talk_join');
    const got = r.received[0];
    const verified = new Webhook(hook.secret).verify(got.body, got.headers as Record<string, string>) as Record<string, unknown>;
    assert.deepEqual(Object.keys(verified), ['event_name', 'body', 'id', 'created_at', 'partner_id']);
    assert.equal(verified.event_name, 'talk_join');
    assert.deepEqual(verified.body, body);
    assert.equal(verified.id, id);
    assert.equal(got.headers['webhook-id'], id);
    assert.equal(verified.partner_id, p.partnerId);
    assert.throws(() => new Webhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').verify(got.body, got.headers as Record<string, string>));
    // Another partner's events never reach this endpoint.
    await emit(t, other.partnerId, 'talk_join', body);
    const log = await waitFor(async () => {
      const d = await deliveriesOf(t, p, hook.id);
      return d.length === 1 && d[0].status === 'succeeded' && d;
    }, 'the delivery logged as succeeded');
    assert.equal(log[0].attempts[0].status_code, 200);
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('retries follow the (compressed) schedule, then succeed; exhausted retries end failed', async () => {
    const r = await receiver();
    r.respond = (_x, n) => ({ status: n <= 3 ? 500 : 200 });
    const hook = await addWebhook(t, p, r.url, { events: ['recording_saved'] });
    await emit(t, p.partnerId, 'talk_join', { talk_id: 'not subscribed' });
    const { id } = await emit(t, p.partnerId, 'recording_saved', { id: 'rec', talk_id: 't' });
    await r.until((x) => x.length === 4, 'four attempts');
    assert.ok(r.received.every((x) => x.headers['webhook-id'] === id && x.json.event_name === 'recording_saved'));
    const gaps = r.received.slice(1).map((x, i) => x.at - r.received[i].at);
    assert.ok(gaps[1] >= 0.27 * 1000 && gaps[2] >= 0.54 * 1000, `gaps ${gaps}`);
    const [d] = await waitFor(async () => {
      const list = await deliveriesOf(t, p, hook.id);
      return list[0]?.status === 'succeeded' && list;
    }, 'success logged');
    assert.deepEqual(
      d.attempts.map((a) => a.status_code),
      [500, 500, 500, 200],
    );

    r.respond = () => ({ status: 503 });
    const before = r.received.length;
    await emit(t, p.partnerId, 'recording_saved', { id: 'rec2', talk_id: 't' });
    const failed = await waitFor(
      async () => (await deliveriesOf(t, p, hook.id, '?status=failed')).find((x) => x.status === 'failed'),
      'the delivery to end failed',
    );
    assert.equal(failed.attempts.length, 4);
    assert.equal(r.received.length - before, 4);
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('Retry-After is honoured', async () => {
    const r = await receiver();
    r.respond = (_x, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const hook = await addWebhook(t, p, r.url);
    await emit(t, p.partnerId, 'talk_join', { talk_id: 'x' });
    await r.until((x) => x.length === 2, 'the retry');
    assert.ok(r.received[1].at - r.received[0].at >= 900, `retried after ${r.received[1].at - r.received[0].at} ms`);
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('an idle worker polls about once a second, yet a retry it scheduled runs when due, and an emit goes at once', async () => {
    const fetches = countFetches(t);
    try {
      const r = await receiver();
      r.respond = (_x, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '3' } } : { status: 200 });
      const hook = await addWebhook(t, p, r.url);
      const emitted = Date.now();
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'idle' });
      await r.until((x) => x.length === 1, 'the first attempt');
      assert.ok(r.received[0].at - emitted < 500, `the first attempt came ${r.received[0].at - emitted} ms after the emit`);
      const [logged] = await waitFor(async () => {
        const list = await deliveriesOf(t, p, hook.id);
        return list[0]?.status === 'pending' && list[0].attempts.length === 1 && list;
      }, 'the first attempt logged with its retry scheduled');
      const due = Date.parse(logged.next_attempt_at as string);
      assert.ok(due - Date.parse(logged.attempts[0].attempted_at) >= 3000, `the retry is scheduled for ${logged.next_attempt_at}, before the Retry-After`);
      // About three seconds with nothing due: polling every 50 ms would be 60 fetches.
      fetches.count = 0;
      const idleFrom = Date.now();
      await r.until((x) => x.length === 2, 'the retry');
      const idled = r.received[1].at - idleFrom;
      assert.ok(fetches.count <= 10, `${fetches.count} fetches in ${idled} ms of idling`);
      // The idle polls (about 1 s apart by then) would find it up to a second late.
      const late = r.received[1].at - due;
      assert.ok(late >= 0 && late < 300, `retried ${late} ms after it was due`);
      await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
    } finally {
      fetches.restore();
    }
  });

  test('events that no endpoint subscribes to do not wake the worker (every join emits talk_join)', async () => {
    const fetches = countFetches(t);
    try {
      const quiet = await createPartner(t, 'No endpoints');
      // The worker backs off to its idle poll (50 ms doubling to 1 s).
      await fetches.idling(900);
      fetches.count = 0;
      const started = Date.now();
      // Spread over a second, as joins arrive: each emit used to put the worker back to a 50 ms poll.
      for (let i = 0; i < 30; i++) {
        await emit(t, quiet.partnerId, 'talk_join', { talk_id: `nobody-${i}` });
        await new Promise((resolve) => setTimeout(resolve, 35));
      }
      // Fetches an emit caused would have come by the worker's next poll.
      await fetches.next();
      const seconds = (Date.now() - started) / 1000;
      assert.ok(
        fetches.count <= Math.ceil(seconds) + 1,
        `${fetches.count} fetches in ${seconds.toFixed(1)} s while 30 events nobody subscribes to were emitted`,
      );
    } finally {
      fetches.restore();
    }
  });

  test('410 Gone disables the endpoint with a visible reason', async () => {
    const r = await receiver();
    r.respond = () => ({ status: 410 });
    const hook = await addWebhook(t, p, r.url);
    await emit(t, p.partnerId, 'talk_join', { talk_id: 'x' });
    const disabled = await waitFor(async () => {
      const res = await api(t, 'GET', `${base}/${hook.id}`, { token: p.token });
      return res.body.webhook.enabled === false && res.body.webhook;
    }, 'the endpoint disabled');
    assert.match(disabled.disabled_reason, /410/);
    await emit(t, p.partnerId, 'talk_join', { talk_id: 'y' });
    const replay = await api(t, 'POST', `${base}/${hook.id}/replay?since=2000-01-01T00:00:00Z`, { token: p.token });
    assert.equal(replay.status, 409);
    assert.equal(r.received.length, 1);
  });

  test('a receiver down for a while then up gets everything', async () => {
    // Its own schedule, 15 s of retries: the shared one (0.9 s) could be spent on a loaded machine
    // before the receiver was up again, and the delivery failed for good (a local Postgres run).
    const t = await startApp({ env: { WEBHOOK_RETRY_SCHEDULE: '0,0.5,1,2,4,8', WEBHOOK_TIMEOUT_MS: '1000' } });
    try {
      const p = await createPartner(t, 'Down a while');
      const port = await freePort();
      const hook = await addWebhook(t, p, `http://127.0.0.1:${port}`, { events: ['talk_join'] });
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await emit(t, p.partnerId, 'talk_join', { talk_id: `down-${i}` })).id);
      await waitFor(async () => {
        const list = await deliveriesOf(t, p, hook.id);
        return list.length === 5 && list.every((d) => d.attempts.length >= 1 && d.attempts[0].error) && list;
      }, 'first attempts to fail');
      const r = new Receiver();
      receivers.push(r);
      await r.start(port);
      await r.until((x) => ids.size === new Set(x.map((y) => y.json.id)).size, 'every event after the receiver came back', 20_000);
      assert.deepEqual(new Set(r.received.map((x) => x.json.id)), ids);
    } finally {
      await t.close();
    }
  });

  test('single retry and replay redeliver with the same webhook-id', async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url);
    const since = new Date().toISOString();
    const a = await emit(t, p.partnerId, 'transcription_ready', { recording_id: 'r', talk_id: 't', transcription: null });
    const b = await emit(t, p.partnerId, 'talk_join', { talk_id: 't' });
    await r.until((x) => x.length === 2, 'both events');
    const list = await deliveriesOf(t, p, hook.id, '?event_name=transcription_ready');
    assert.equal(list.length, 1);
    const retried = await api(t, 'POST', `${base}/deliveries/${list[0].id}/retry`, { token: p.token });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    await r.until((x) => x.length === 3, 'the retried delivery');
    assert.equal(r.received[2].headers['webhook-id'], a.id);
    const replay = await api(t, 'POST', `${base}/${hook.id}/replay?since=${encodeURIComponent(since)}`, { token: p.token });
    assert.equal(replay.status, 200, JSON.stringify(replay.body));
    assert.equal(replay.body.replay.queued, 2);
    await r.until((x) => x.length === 5, 'the replayed events');
    assert.deepEqual(new Set(r.received.slice(3).map((x) => x.headers['webhook-id'])), new Set([a.id, b.id]));
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test("next_caption carries a per-talk seq, and a talk's captions arrive in seq order", async () => {
    const r = await receiver();
    // Talk A's captions being answered right now, and the most there ever were at once.
    let activeA = 0;
    let mostActiveA = 0;
    const prng = new Prng(testSeed('caption delivery delays'));
    r.respond = (got) => {
      const delayMs = 5 + prng.int(20);
      if (got.json.body.talkId === 'talk-A') {
        mostActiveA = Math.max(mostActiveA, ++activeA);
        setTimeout(() => activeA--, delayMs);
      }
      return { status: 200, delayMs };
    };
    const hook = await addWebhook(t, p, r.url, { events: ['next_caption'] });
    // Emitted back to back, one after another as the captioner does, so their deliveries overlap.
    for (let i = 0; i < 20; i++) {
      await emit(t, p.partnerId, 'next_caption', {
        message: `m${i}`,
        fullname: 'A',
        avatar_url: null,
        username: 'a',
        timestamp: new Date().toISOString(),
        talkId: 'talk-A',
      });
      if (i % 2 === 0) await emit(t, p.partnerId, 'next_caption', { message: `b${i}`, talkId: 'talk-B' });
    }
    // At least once: a slow answer may be retried, so count distinct webhook-ids.
    const unique = () => [...new Map(r.received.map((x) => [x.json.id, x])).values()];
    // Generous but bounded: on a loaded 2-core machine 30 deliveries can take many seconds.
    await r.until(() => unique().length === 30, 'all captions', 90_000);
    const a = unique()
      .filter((x) => x.json.body.talkId === 'talk-A')
      .sort((x, y) => Number(x.json.body.seq) - Number(y.json.body.seq));
    assert.deepEqual(
      a.map((x) => x.json.body.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      a.map((x) => x.json.body.message),
      Array.from({ length: 20 }, (_, i) => `m${i}`),
    );
    assert.equal(unique().filter((x) => x.json.body.talkId === 'talk-B').length, 10);
    // One attempt at a time per endpoint and talk (the next goes once the one before is answered):
    // each of talk A's captions arrived (first time) after the one before it.
    const firstArrivals = unique()
      .filter((x) => x.json.body.talkId === 'talk-A')
      .map((x) => Number(x.json.body.seq));
    assert.deepEqual(
      firstArrivals,
      [...firstArrivals].sort((x, y) => x - y),
      `talk A's captions arrived as ${firstArrivals}`,
    );
    assert.equal(mostActiveA, 1, "talk A's captions were sent one at a time");
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('rotating the secret signs with both secrets for 24 h; the test ping returns its result', async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url);
    const rotated = await api(t, 'POST', `${base}/${hook.id}/rotate_secret`, { token: p.token });
    assert.equal(rotated.status, 200);
    const secret2 = rotated.body.webhook.secret as string;
    assert.notEqual(secret2, hook.secret);
    const ping = await api(t, 'POST', `${base}/${hook.id}/test`, { token: p.token });
    assert.equal(ping.status, 200, JSON.stringify(ping.body));
    assert.equal(ping.body.delivery.status, 'succeeded');
    assert.equal(ping.body.delivery.attempts[0].status_code, 200);
    assert.equal(ping.body.delivery.attempts[0].response_body, 'answer 200');
    const got = r.received[0];
    assert.equal(got.json.event_name, 'ping');
    assert.equal(String(got.headers['webhook-signature']).split(' ').length, 2);
    for (const secret of [hook.secret, secret2]) new Webhook(secret).verify(got.body, got.headers as Record<string, string>);
    r.respond = () => ({ status: 500 });
    const failing = await api(t, 'POST', `${base}/${hook.id}/test`, { token: p.token });
    assert.equal(failing.body.delivery.status, 'pending');
    assert.equal(failing.body.delivery.attempts[0].status_code, 500);
    assert.ok(failing.body.delivery.next_attempt_at);
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('signing secrets are sealed at rest; one stored in the clear still signs and is sealed at start-up', async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url);
    const stored = async () =>
      (await t.services.db.db.selectFrom('webhook_endpoints').select('secrets').where('id', '=', hook.id).executeTakeFirstOrThrow()).secrets;
    const sealed = await stored();
    assert.ok(!JSON.stringify(sealed).includes(hook.secret.slice(6)), 'the row does not hold the secret');
    assert.match(sealed[0].secret, /^sealed:v1:/);
    // An endpoint written before sealing existed: its secret in the clear still signs...
    await t.services.db.db
      .updateTable('webhook_endpoints')
      .set({ secrets: JSON.stringify([{ secret: hook.secret, created_at: new Date().toISOString(), expires_at: null }]) })
      .where('id', '=', hook.id)
      .execute();
    const ping = await api(t, 'POST', `${base}/${hook.id}/test`, { token: p.token });
    assert.equal(ping.body.delivery.status, 'succeeded', JSON.stringify(ping.body));
    new Webhook(hook.secret).verify(r.received[0].body, r.received[0].headers as Record<string, string>);
    // ...and the start-up pass seals it, after which it signs the same.
    const { SecretsCodec } = await import('../../src/webhooks/repository.js');
    const { Sealer } = await import('../../src/platform/sealed.js');
    const changed = await new SecretsCodec(new Sealer(t.services.config.SECRET_KEY, 'webhook signing secrets')).sealStored(t.services.db.db);
    assert.ok(changed >= 1);
    assert.match((await stored())[0].secret, /^sealed:v1:/);
    await api(t, 'POST', `${base}/${hook.id}/test`, { token: p.token });
    new Webhook(hook.secret).verify(r.received[1].body, r.received[1].headers as Record<string, string>);
    // Sealed under another SECRET_KEY, a secret cannot be opened.
    assert.throws(() => new Sealer('another key entirely, 32+ characters', 'webhook signing secrets').open(sealed[0].secret));
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test('retention deletes finished events older than 30 days with their deliveries and attempts, keeps pending ones', async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url, { events: ['recording_saved'] });
    const old = await emit(t, p.partnerId, 'recording_saved', { id: 'old', talk_id: 't' });
    const recent = await emit(t, p.partnerId, 'recording_saved', { id: 'recent', talk_id: 't' });
    await r.until((x) => x.length === 2, 'both delivered');
    await waitFor(async () => (await deliveriesOf(t, p, hook.id)).every((d) => d.status === 'succeeded'), 'both logged');
    const db = t.services.db.db;
    const ago = (days: number) => new Date(Date.now() - days * 86400_000);
    await db
      .updateTable('webhook_events')
      .set({ created_at: ago(31) })
      .where('id', '=', old.id)
      .execute();
    await db
      .updateTable('webhook_events')
      .set({ created_at: ago(29) })
      .where('id', '=', recent.id)
      .execute();
    // An old event still pending somewhere is kept until it finishes.
    r.respond = () => ({ status: 500 });
    const stuck = await emit(t, p.partnerId, 'recording_saved', { id: 'stuck', talk_id: 't' });
    await db
      .updateTable('webhook_events')
      .set({ created_at: ago(40) })
      .where('id', '=', stuck.id)
      .execute();
    assert.ok((await t.services.webhooks.prune()) >= 1);
    const left = await deliveriesOf(t, p, hook.id);
    assert.deepEqual(new Set(left.map((d) => d.event_id)), new Set([recent.id, stuck.id]));
    const attempts = await db.selectFrom('webhook_attempts as a').innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id').select('d.event_id').execute();
    assert.equal(attempts.filter((a) => a.event_id === old.id).length, 0);
    r.respond = () => ({ status: 200 });
    await api(t, 'DELETE', `${base}/${hook.id}`, { token: p.token });
  });

  test("another partner's token gets 404 on every webhook route", async () => {
    const r = await receiver();
    const hook = await addWebhook(t, p, r.url);
    const ping = await api(t, 'POST', `${base}/${hook.id}/test`, { token: p.token });
    const deliveryId = ping.body.delivery.id;
    const routes: [string, string, unknown?][] = [
      ['GET', `${base}/${hook.id}`],
      ['PATCH', `${base}/${hook.id}`, { description: 'x' }],
      ['POST', `${base}/${hook.id}/rotate_secret`],
      ['POST', `${base}/${hook.id}/test`],
      ['GET', `${base}/${hook.id}/deliveries`],
      ['POST', `${base}/deliveries/${deliveryId}/retry`],
      ['POST', `${base}/${hook.id}/deliveries/${deliveryId}/retry`],
      ['POST', `${base}/${hook.id}/replay?since=2000-01-01T00:00:00Z`],
      ['DELETE', `${base}/${hook.id}`],
    ];
    for (const [method, path, json] of routes) {
      const res = await api(t, method, path, { token: other.token, json });
      assert.equal(res.status, 404, `${method} ${path}: ${res.status}`);
    }
    const list = await api(t, 'GET', base, { token: other.token });
    assert.deepEqual(list.body.webhooks, []);
    const still = await api(t, 'GET', `${base}/${hook.id}`, { token: p.token });
    assert.equal(still.body.webhook.description, null);
    assert.equal(r.received.length, 1);
  });
});

describe('webhooks: SSRF guard and disabling after continuous failure', () => {
  test('private and loopback receivers are refused unless the operator allows them', async () => {
    const t = await startApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false', WEBHOOK_ALLOW_HTTP: 'false' } });
    const r = await new Receiver().start();
    try {
      const p = await createPartner(t);
      const http = await api(t, 'POST', base, { token: p.token, json: { url: 'http://example.com/hook' } });
      assert.equal(http.status, 400);
      assert.match(http.body.error.message, /https/);
      for (const url of [
        'https://127.0.0.1/x',
        'https://169.254.169.254/latest/meta-data',
        'https://10.1.2.3/',
        'https://[::1]/',
        'https://[fd00:ec2::254]/',
      ]) {
        const res = await api(t, 'POST', base, { token: p.token, json: { url } });
        assert.equal(res.status, 400, url);
        assert.equal(res.body.error.field, 'url');
      }
      // A name is only checked after DNS, at delivery time: localhost resolves to loopback.
      await t.close();
      const t2 = await startApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false', WEBHOOK_ALLOW_HTTP: 'true' } });
      try {
        const p2 = await createPartner(t2);
        const port = new URL(r.url).port;
        const hook = await addWebhook(t2, p2, `http://localhost:${port}/hook`);
        const ping = await api(t2, 'POST', `${base}/${hook.id}/test`, { token: p2.token });
        assert.equal(ping.body.delivery.status, 'failed');
        assert.match(ping.body.delivery.attempts[0].error, /refused: localhost resolves to (127\.0\.0\.1|::1)/);
        assert.equal(r.received.length, 0);
      } finally {
        await t2.close();
      }
    } finally {
      await r.close();
      await t.close();
    }
  });

  test("a retry or a new URL asked for by the partner goes out now, not after the failed endpoint's next scheduled attempt (an hour here)", async () => {
    const t = await startApp({ env: { WEBHOOK_RETRY_SCHEDULE: '0,3600,3600' } });
    const r = await new Receiver().start();
    const fixed = await new Receiver().start();
    try {
      r.respond = () => ({ status: 503 });
      const p = await createPartner(t);
      const hook = await addWebhook(t, p, r.url);
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'x' });
      // Failing, it is next tried in an hour (the schedule's second step).
      const later = (x: { status: string; next_attempt_at: string | null }) =>
        x.status === 'pending' && Date.parse(x.next_attempt_at ?? '') > Date.now() + 600_000;
      const [d] = await waitFor(async () => {
        const list = await deliveriesOf(t, p, hook.id);
        return list.length === 1 && later(list[0]) && list;
      }, 'the delivery failing, next tried in an hour');
      const tried = r.received.length;
      // The partner's server is up again: a retry is sent now.
      r.respond = () => ({ status: 200 });
      assert.equal((await api(t, 'POST', `${base}/deliveries/${d.id}/retry`, { token: p.token })).status, 200);
      await r.until((x) => x.length === tried + 1 && x[tried].answered === 200, 'the retry, within seconds', 10_000);
      // It fails again; the partner moves the endpoint to a working URL: the next event goes there at once.
      r.respond = () => ({ status: 503 });
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'y' });
      await waitFor(async () => (await deliveriesOf(t, p, hook.id)).some(later), 'the next event failing, next tried in an hour');
      assert.equal((await api(t, 'PATCH', `${base}/${hook.id}`, { token: p.token, json: { url: fixed.url } })).status, 200);
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'z' });
      await fixed.until((x) => x.some((y) => y.json.body.talk_id === 'z' && y.answered === 200), 'the event at the new URL, within seconds', 10_000);
    } finally {
      await r.close();
      await fixed.close();
      await t.close();
    }
  });

  test("an endpoint deleted while its attempt is in flight: the attempts recorded with it are kept, and nobody's delivery is sent twice", async () => {
    const t = await startApp({ logs: true });
    const gone = await new Receiver().start();
    const kept = await new Receiver().start();
    try {
      // Both answer after the same second, so their attempts are recorded together.
      gone.respond = () => ({ status: 200, delayMs: 1000 });
      kept.respond = () => ({ status: 200, delayMs: 1000 });
      const p = await createPartner(t, 'Deletes');
      const q = await createPartner(t, 'Keeps');
      const doomed = await addWebhook(t, p, gone.url);
      const hook = await addWebhook(t, q, kept.url);
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'a' });
      await emit(t, q.partnerId, 'talk_join', { talk_id: 'b' });
      await gone.until((x) => x.length === 1, 'the doomed endpoint reached');
      await kept.until((x) => x.length === 1, 'the other partner reached');
      assert.equal((await api(t, 'DELETE', `${base}/${doomed.id}`, { token: p.token })).status, 200);
      const [delivered] = await waitFor(
        async () => {
          const list = await deliveriesOf(t, q, hook.id);
          return list[0]?.status === 'succeeded' && list;
        },
        "the other partner's delivery recorded",
        8_000,
      );
      assert.equal(delivered.attempts.length, 1);
      assert.deepEqual(
        t.lines.filter((l) => /could not be recorded/.test(String(l.msg))),
        [],
      );
      assert.equal(kept.received.length, 1, 'sent once');
    } finally {
      await gone.close();
      await kept.close();
      await t.close();
    }
  });

  test('an endpoint failing continuously for WEBHOOK_DISABLE_AFTER_HOURS is disabled, and says why', async () => {
    const t = await startApp({ env: { WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2', WEBHOOK_DISABLE_AFTER_HOURS: '0.0002' } });
    const r = await new Receiver().start();
    try {
      r.respond = () => ({ status: 502 });
      const p = await createPartner(t);
      const hook = await addWebhook(t, p, r.url);
      await emit(t, p.partnerId, 'talk_join', { talk_id: 'x' });
      const disabled = await waitFor(async () => {
        const res = await api(t, 'GET', `${base}/${hook.id}`, { token: p.token });
        return res.body.webhook.enabled === false && res.body.webhook;
      }, 'the endpoint disabled');
      assert.match(disabled.disabled_reason, /failing continuously since .*HTTP 502/);
      const [d] = await deliveriesOf(t, p, hook.id);
      assert.equal(d.status, 'failed');
      assert.ok(d.attempts.length >= 3 && d.attempts.length < 11, `${d.attempts.length} attempts`);
      const enabled = await api(t, 'PATCH', `${base}/${hook.id}`, { token: p.token, json: { enabled: true } });
      assert.equal(enabled.body.webhook.disabled_reason, null);
    } finally {
      await r.close();
      await t.close();
    }
  });
});
