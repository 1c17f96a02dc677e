import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, createPartner, startApp } from '../support/app.js';
import { smalltalk as runCli, smalltalkOk } from '../support/cli.js';
import { logIn } from '../support/session.js';
import { Receiver } from './receiver.js';

const base = '/api/v1/partners/webhooks';

describe('webhook management and delivery isolation', () => {
  let t: TestApp;
  const receivers: Receiver[] = [];
  before(async () => {
    // A long timeout: a hanging endpoint holds its attempts for 20 s, far longer than the others take.
    t = await startApp({ env: { WEBHOOK_TIMEOUT_MS: '20000' } });
  });
  after(async () => {
    for (const r of receivers) await r.close();
    await t.close();
  });

  test('a dashboard member gets 403 on every webhook management route; the owner does not', async () => {
    const p = await createPartner(t, 'Team');
    const r = await new Receiver().start();
    receivers.push(r);
    const hook = (await api(t, 'POST', base, { token: p.token, json: { url: r.url } })).body.webhook;
    const email = `member-${Date.now()}@example.test`;
    const member = await t.services.accounts.signUp({ email, password: 'long enough password', name: 'Member' });
    await t.services.accounts.repo.addMember(t.services.db.db, p.partnerId, member.id, 'member');
    const asMember = await logIn(t, { email, password: 'long enough password' }, p.partnerId);
    const asOwner = await logIn(t, p, p.partnerId);
    const routes: [string, string, unknown?][] = [
      ['GET', base],
      ['POST', base, { url: r.url }],
      ['GET', `${base}/${hook.id}`],
      ['PATCH', `${base}/${hook.id}`, { description: 'x' }],
      ['POST', `${base}/${hook.id}/rotate_secret`],
      ['POST', `${base}/${hook.id}/test`],
      ['GET', `${base}/${hook.id}/deliveries`],
      ['POST', `${base}/${hook.id}/replay?since=2000-01-01T00:00:00Z`],
      ['DELETE', `${base}/${hook.id}`],
    ];
    for (const [method, route, json] of routes) {
      const res = await api(t, method, route, { headers: asMember, json });
      assert.equal(res.status, 403, `member ${method} ${route}: ${res.status}`);
    }
    assert.equal(r.received.length, 0, 'no ping was sent for the member');
    // The same routes work for the owner's session, so the 403 above is the role, not the request.
    for (const [method, route] of [
      ['GET', base],
      ['GET', `${base}/${hook.id}`],
      ['GET', `${base}/${hook.id}/deliveries`],
    ]) {
      const res = await api(t, method, route, { headers: asOwner });
      assert.equal(res.status, 200, `owner ${method} ${route}: ${res.status}`);
    }
    const still = await api(t, 'GET', `${base}/${hook.id}`, { token: p.token });
    assert.equal(still.body.webhook.description, null);
  });

  test("an endpoint that never answers does not delay another partner's deliveries", async () => {
    const slow = await createPartner(t, 'Slow');
    const fast = await createPartner(t, 'Fast');
    const hanging = await new Receiver().start();
    hanging.respond = () => ({ status: 200, delayMs: 60_000 });
    const quick = await new Receiver().start();
    receivers.push(hanging, quick);
    for (const [p, r] of [
      [slow, hanging],
      [fast, quick],
    ] as const) {
      const res = await api(t, 'POST', base, { token: p.token, json: { url: r.url, events: ['talk_join'] } });
      assert.equal(res.status, 200);
    }
    const count = 150;
    /** Emits `count` events to the fast partner (each after one to the slow partner when `withSlow`) and returns the fast receipts' latencies, sorted. */
    const measure = async (withSlow: boolean) => {
      const emittedAt = new Map<string, number>();
      const seen = quick.received.length;
      for (let i = 0; i < count; i++) {
        // The hanging endpoint's event first, so its attempts are ahead of the other's in the queue.
        if (withSlow) await t.services.db.db.transaction().execute((tx) => t.services.events.emit(tx, slow.partnerId, 'talk_join', { talk_id: `s${i}` }));
        const { id } = await t.services.db.db.transaction().execute((tx) => t.services.events.emit(tx, fast.partnerId, 'talk_join', { talk_id: `f${i}` }));
        emittedAt.set(id, Date.now());
      }
      const mine = () => quick.received.slice(seen).filter((x) => emittedAt.has(x.json.id));
      await quick.until(() => new Set(mine().map((y) => y.json.id)).size === count, 'every delivery to the fast endpoint', 60_000);
      return [...new Map(mine().map((x) => [x.json.id, x.at - (emittedAt.get(x.json.id) as number)])).values()].sort((a, b) => a - b);
    };
    const alone = await measure(false);
    const beside = await measure(true);
    // Meanwhile the hanging endpoint holds attempts in flight and has answered none.
    assert.ok(hanging.pending > 0, 'the hanging endpoint has attempts in flight');
    assert.ok(
      hanging.received.every((x) => x.answered === undefined),
      'the hanging endpoint answered nothing',
    );
    // No fast delivery waited for a hanging attempt (20 s): its worst case stays near what it is
    // with no hanging endpoint at all (a bound relative to this machine's load, not a guess).
    const summary = `fast endpoint alone p50 ${alone[count >> 1]} max ${alone[count - 1]} ms; beside the hanging one p50 ${beside[count >> 1]} max ${beside[count - 1]} ms`;
    console.log(summary);
    assert.ok(beside[count - 1] < Math.max(3 * alone[count - 1], 2000) && beside[count - 1] < 20_000, summary);
  });
});

describe('smalltalk webhook CLI (embedded PGlite, no server running)', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-webhook-cli-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: '', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_ALLOW_HTTP: 'true' };
  const smalltalk = (args: string[]) => smalltalkOk(args, { env });
  const refused = (args: string[]) => runCli(args, { env });

  test('webhook add, list, test and rm', async () => {
    const r = await new Receiver().start();
    try {
      const partner = JSON.parse((await smalltalk(['partner', 'create', '--name', 'Hooks', '--email', 'hooks@example.test', '--json'])).stdout);
      const added = JSON.parse(
        (await smalltalk(['webhook', 'add', '--partner', partner.partner_id, '--url', `${r.url}/cli`, '--events', 'talk_join,next_caption', '--json'])).stdout,
      );
      assert.match(added.secret, /^whsec_/);
      assert.deepEqual(added.events, ['talk_join', 'next_caption']);
      const listed = JSON.parse((await smalltalk(['webhook', 'list', '--partner', partner.partner_id, '--json'])).stdout);
      assert.deepEqual(
        listed.map((h: { id: string; url: string }) => [h.id, h.url]),
        [[added.id, `${r.url}/cli`]],
      );
      assert.equal(JSON.stringify(listed).includes(added.secret), false, 'the secret is shown once only');
      const tested = JSON.parse((await smalltalk(['webhook', 'test', '--partner', partner.partner_id, '--id', added.id, '--json'])).stdout);
      assert.equal(tested.status, 'succeeded');
      assert.equal(r.received.length, 1);
      assert.equal(r.received[0].json.event_name, 'ping');
      assert.equal(r.received[0].headers['webhook-id'], tested.event_id);
      // A failing receiver: the command says so with its exit code.
      r.respond = () => ({ status: 500 });
      const failed = await refused(['webhook', 'test', '--partner', partner.partner_id, '--id', added.id]);
      assert.equal(failed.code, 1, 'webhook test should exit non-zero on a 500');
      assert.match(failed.stdout, /pending: 500/);
      await smalltalk(['webhook', 'rm', '--partner', partner.partner_id, '--id', added.id]);
      assert.deepEqual(JSON.parse((await smalltalk(['webhook', 'list', '--partner', partner.partner_id, '--json'])).stdout), []);
      const other = await refused(['webhook', 'rm', '--partner', partner.partner_id, '--id', added.id]);
      assert.notEqual(other.code, 0, 'removing twice should fail');
    } finally {
      await r.close();
    }
  });
});
