import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { WebSocket } from 'ws';
import { type TestApp, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { Receiver } from '../webhooks/receiver.js';
import { ensureWebBuilt, launchChromium } from '../support/chromium.js';
import { logInToDashboard } from '../support/session.js';

const OWNER = { name: 'Olga Owner', email: 'olga@example.test', password: 'owner password 123' };
const MAX = { name: 'Max Member', email: 'max@example.test', password: 'member password 123' };

describe('dashboard in Chromium: team, password reset, talk editing, live room, webhook retries', () => {
  let t: TestApp;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let partnerId: string;
  let token: string;
  const sockets: WebSocket[] = [];
  const receiver = new Receiver();

  /** A fetch from the page, as the dashboard makes it (session cookie, CSRF token, X-Partner-Id). */
  const fromPage = (method: string, path: string) =>
    page.evaluate(
      async ([m, p, org]) => {
        const csrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)st_csrf=([^;]+)/)?.[1] ?? '');
        const r = await fetch(p, { method: m, headers: { 'x-partner-id': org, 'x-csrf-token': csrf } });
        return { status: r.status, body: await r.json() };
      },
      [method, path, partnerId],
    );
  const tokenApi = async (method: string, path: string, json?: unknown) => {
    const r = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  const logIn = (who: { email: string; password: string }) => logInToDashboard(page, who);
  const nav = (name: string) => page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name });
  const logOut = async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/dashboard/login');
  };

  before(async () => {
    ensureWebBuilt();
    // A first attempt and one automatic retry at once; after that a delivery has failed and only the Retry button sends it again.
    t = await startApp({ env: { WEBHOOK_RETRY_SCHEDULE: '0', WEBHOOK_TIMEOUT_MS: '3000' }, logs: true, background: ['queue', 'webhook-delivery', 'sfu'] });
    const user = await t.services.accounts.signUp(OWNER);
    partnerId = (await t.services.accounts.createPartner(user.id, 'Team Org')).id;
    token = (await t.services.accounts.createToken(partnerId, 'test', user.id)).token;
    await receiver.start();
    ({ context, userDataDir } = await launchChromium(t.url));
    page = await context.newPage();
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await receiver.close();
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('an owner invites a member by link; the member cannot manage webhooks, resets a forgotten password; roles change', async () => {
    await logIn(OWNER);
    await nav('Settings').click();
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Create invite link' }).click();
    const invite = (await page.getByTestId('invite-link').textContent()) ?? '';
    assert.match(invite, new RegExp(`^${t.url}/dashboard/invite/[\\w-]+$`));
    await logOut();

    // The invitee opens the link, signs up from it and joins.
    await page.goto(invite);
    await page.getByRole('heading', { name: 'Join Team Org' }).waitFor();
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill(MAX.name);
    await page.getByLabel('Email').fill(MAX.email);
    await page.getByLabel('Password').fill(MAX.password);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: `Join as ${MAX.name}` }).click();
    await page.waitForURL(`**/dashboard/o/${partnerId}/talks`);

    // A member: no webhooks, no tokens, and the page says so; the API agrees.
    await nav('Webhooks').click();
    await page.getByTestId('webhooks-forbidden').getByText('Only owners and admins manage webhooks').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add endpoint' }).count(), 0);
    assert.equal((await fromPage('GET', '/api/v1/partners/webhooks')).status, 403);
    await nav('Settings').click();
    await page.getByText('Only owners and admins of Team Org manage API tokens').waitFor();
    await logOut();

    // Forgot password: the operator's log holds the link (no SMTP here); it resets once.
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(MAX.email);
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await page.getByRole('status').getByText(MAX.email).waitFor();
    const logged = t.lines.filter((l) => 'reset_link' in l);
    assert.equal(logged.length, 1);
    await page.goto(String(logged[0].reset_link));
    await page.getByLabel('New password').fill('brand new password 1');
    await page.getByRole('button', { name: 'Set password and log in' }).click();
    await page.waitForURL(`**/dashboard/o/${partnerId}/talks`);
    await logOut();
    await page.getByLabel('Email').fill(MAX.email);
    await page.getByLabel('Password').fill(MAX.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    assert.match(page.url(), /\/dashboard\/login$/, 'the old password no longer logs in');
    await logIn({ email: MAX.email, password: 'brand new password 1' });
    await logOut();

    // The owner makes Max an admin; demoting the last owner is refused beside that row.
    await logIn(OWNER);
    await nav('Settings').click();
    const roleChange = () => page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes(`/api/v1/orgs/${partnerId}/members/`));
    const roleOf = async (email: string) =>
      (await fromPage('GET', `/api/v1/orgs/${partnerId}/members`)).body.members.find((m: { email: string }) => m.email === email)?.role;
    await Promise.all([roleChange(), page.getByLabel(`Role of ${MAX.name}`).selectOption('admin')]);
    assert.equal(await roleOf(MAX.email), 'admin');
    const [refused] = await Promise.all([roleChange(), page.getByLabel(`Role of ${OWNER.name}`).selectOption('admin')]);
    assert.equal(refused.status(), 409);
    await page.locator(`tr[data-member="${OWNER.email}"] [role="alert"]`).filter({ hasText: /owner/ }).waitFor();
    assert.equal(await roleOf(OWNER.email), 'owner');
    assert.equal(await page.getByLabel(`Role of ${OWNER.name}`).inputValue(), 'owner', 'the select shows the role the server kept');
  });

  test('a talk is edited in place; join as host, invite links and subscribers show up; who is in the room is listed', async () => {
    const made = await tokenApi('POST', '/api/p/talk', { name: 'Team sync', subscriptions_allowed: true });
    assert.equal(made.status, 200);
    const talkId = made.body.talk.id as string;
    await page.goto(`/dashboard/o/${partnerId}/talks/${talkId}`);
    await page.getByRole('heading', { name: 'Team sync', level: 1 }).waitFor();
    await page.getByTestId('room-empty').waitFor();

    // Edit: the form replaces the page and closes on save, showing what was saved.
    await page.getByRole('button', { name: 'Edit talk' }).click();
    await page.getByLabel('Name').fill('Team sync (weekly)');
    await page.getByLabel('Description').fill('Where we plan the week.');
    await page.getByLabel('Access').selectOption('invite_only');
    await page.getByLabel('Record this talk').uncheck();
    await page.getByRole('button', { name: 'Save talk' }).click();
    await page.getByRole('heading', { name: 'Team sync (weekly)', level: 1 }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save talk' }).count(), 0);
    await page.getByText('Where we plan the week.').waitFor();
    const edited = (await tokenApi('GET', `/api/v1/partners/talks/${talkId}`)).body.talk;
    assert.deepEqual(
      [edited.name, edited.description, edited.access, edited.recording],
      ['Team sync (weekly)', 'Where we plan the week.', 'invite_only', false],
    );

    // Join as host: a personal link; joining with it makes the owner a host in the room.
    await page.getByRole('button', { name: 'Join as host' }).click();
    const joinUrl = (await page.getByTestId('join-url').textContent()) ?? '';
    assert.ok(joinUrl.startsWith(`${edited.short_url}#token=`), joinUrl);
    sockets.push((await joinRoom(edited.short_url, { token: new URL(joinUrl).hash.slice('#token='.length) })).socket);
    await page.getByRole('button', { name: 'Refresh' }).first().click();
    await page.locator(`[data-participant="${OWNER.name}"]`, { hasText: 'host' }).waitFor();

    // An invite link for one use: a guest joins with it (the talk is invite only) and is listed too.
    await page.getByLabel('Uses').fill('1');
    await page.getByRole('button', { name: 'Create invite link' }).click();
    const inviteUrl = (await page.getByTestId('talk-invite-url').textContent()) ?? '';
    const secret = new URL(inviteUrl).hash.slice('#invite='.length);
    sockets.push((await joinRoom(edited.short_url, { invite: secret, name: 'Ivy Guest' })).socket);
    await assert.rejects(joinRoom(edited.short_url, { invite: secret, name: 'Second Guest' }), /invalid_invite/);
    await page.getByRole('button', { name: 'Refresh' }).first().click();
    await page.locator('[data-participant="Ivy Guest"]', { hasText: 'listener' }).waitFor();
    await page.getByText('2 people in the room').waitFor();
    const present = (await tokenApi('GET', `/api/v1/partners/talks/${talkId}/participants`)).body.participants;
    assert.deepEqual(present.map((p: { name: string; role: string }) => `${p.name}:${p.role}`).sort(), ['Ivy Guest:listener', `${OWNER.name}:host`]);
    const invites = (await tokenApi('GET', `/api/v1/partners/talks/${talkId}/invites`)).body.invites;
    assert.deepEqual(
      invites.map((i: { uses: number; max_uses: number }) => [i.uses, i.max_uses]),
      [[1, 1]],
    );

    // A subscriber from the public talk page shows up in the list.
    const code = new URL(edited.short_url).pathname.split('/').pop();
    const sub = await fetch(`${t.url}/t/${code}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'fan@example.test', name: 'Fan' }),
    });
    assert.equal(sub.status, 200);
    await page.reload();
    await page.locator('[data-subscriber="fan@example.test"]').waitFor();
  });

  test('a failed test delivery shows its 500 and is retried from the log; disable, enable, replay, rotate', async () => {
    receiver.respond = (_r, n) => ({ status: n <= 2 ? 500 : 200 });
    await page.goto(`/dashboard/o/${partnerId}/webhooks`);
    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const firstSecret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    await page.locator(`[data-webhook="${receiver.url}"]`).getByRole('link').click();
    await page.getByRole('button', { name: 'Send test event' }).click();
    // The page follows the pending delivery through its automatic retry to failed.
    const failed = page.locator('[data-delivery="ping"][data-status="failed"]');
    await failed.waitFor();
    assert.equal(await failed.getByTestId('delivery-code').textContent(), '500');
    await failed.getByText('2 attempts').waitFor();
    await failed.getByRole('button', { name: /^Retry ping delivery/ }).click();
    await page.locator('[data-delivery="ping"][data-status="succeeded"]').waitFor();
    assert.equal(receiver.received.length, 3);
    assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1, 'a retry is the same event');
    const hookId = page.url().split('/').pop() ?? '';
    const delivery = (await tokenApi('GET', `/api/v1/partners/webhooks/${hookId}/deliveries`)).body.deliveries[0];
    assert.deepEqual(
      delivery.attempts.map((a: { status_code: number }) => a.status_code),
      [500, 500, 200],
    );

    // Disable, then enable again.
    await page.getByRole('button', { name: 'Disable endpoint' }).click();
    await page.getByTestId('webhook-state').filter({ hasText: 'disabled' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Send test event' }).isDisabled(), true);
    assert.equal((await tokenApi('GET', `/api/v1/partners/webhooks/${hookId}`)).body.webhook.enabled, false);
    await page.getByRole('button', { name: 'Enable endpoint' }).click();
    await page.getByTestId('webhook-state').filter({ hasText: 'enabled' }).waitFor();

    // Replay the last day: the ping once more, and the two talk_join events from before the endpoint existed.
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByTestId('replay-result').filter({ hasText: '3 events queued.' }).waitFor();
    await receiver.until((r) => r.length === 6, 'the replayed events');
    assert.deepEqual(
      receiver.received
        .slice(3)
        .map((r) => r.json.event_name)
        .sort(),
      ['ping', 'talk_join', 'talk_join'],
    );

    // Rotate: a new secret, shown once.
    await page.getByRole('button', { name: /^Rotate secret/ }).click();
    await page.getByRole('button', { name: 'Yes, rotate secret' }).click();
    const rotated = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, firstSecret);
  });
});
