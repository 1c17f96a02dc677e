import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, startApp } from '../support/app.js';
import { Session } from '../support/session.js';
import { waitFor } from '../support/wait.js';
import { startSmtp } from '../support/smtp.js';

describe('accounts: invites, roles, removal', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ background: false });
  });
  after(() => t.close());

  test('an owner invites an admin by link; roles change; members go; other organizations are 404', async () => {
    const owner = await Session.signUp(t.url, 'Olive');
    const org = (await owner.s.call('POST', '/api/v1/orgs', { name: 'Acme' })).body.partner.id as string;
    const outsider = await Session.signUp(t.url, 'Oscar');
    const otherOrg = (await outsider.s.call('POST', '/api/v1/orgs', { name: 'Other' })).body.partner.id as string;

    const made = await owner.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'admin' });
    assert.equal(made.status, 200);
    assert.match(made.body.invite_url, new RegExp(`^${t.url}/dashboard/invite/[\\w-]{40,}$`));
    const secret = made.body.invite_url.split('/').pop();
    assert.equal((await owner.s.call('GET', `/api/v1/orgs/${org}/invites`)).body.invites.length, 1);

    // Another organization's owner cannot see or use this organization's invites, members or roles.
    assert.equal((await outsider.s.call('GET', `/api/v1/orgs/${org}/invites`)).status, 404);
    assert.equal((await outsider.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'member' })).status, 404);
    assert.equal((await outsider.s.call('DELETE', `/api/v1/orgs/${org}/invites/${made.body.invite.id}`)).status, 404);
    assert.equal((await owner.s.call('DELETE', `/api/v1/orgs/${otherOrg}/invites/${made.body.invite.id}`)).status, 404);
    assert.equal((await outsider.s.call('PATCH', `/api/v1/orgs/${org}/members/${owner.userId}`, { role: 'member' })).status, 404);
    assert.equal((await outsider.s.call('DELETE', `/api/v1/orgs/${org}/members/${owner.userId}`)).status, 404);

    const described = await api(t, 'GET', `/api/v1/invites/${secret}`);
    assert.deepEqual([described.body.invite.partner_name, described.body.invite.role], ['Acme', 'admin']);

    const ada = await Session.signUp(t.url, 'Ada');
    // CSRF: without the header the accept is refused.
    const noCsrf = await fetch(`${t.url}/api/v1/invites/${secret}/accept`, {
      method: 'POST',
      headers: { cookie: ada.s.cookie() },
    });
    assert.equal(noCsrf.status, 403);
    const accepted = await ada.s.call('POST', `/api/v1/invites/${secret}/accept`);
    assert.deepEqual(accepted.body.partner, { id: org, name: 'Acme', role: 'admin' });
    assert.equal((await ada.s.call('POST', `/api/v1/invites/${secret}/accept`)).status, 404, 'an invite link works once');
    assert.deepEqual(
      (await ada.s.call('GET', '/api/v1/auth/me')).body.partners.map((p: { name: string }) => p.name),
      ['Acme'],
      'a user sees only organizations they belong to',
    );

    // An admin may not make owners, nor demote the owner.
    assert.equal((await ada.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'owner' })).status, 403);
    assert.equal((await ada.s.call('PATCH', `/api/v1/orgs/${org}/members/${owner.userId}`, { role: 'member' })).status, 403);
    // The last owner stays owner.
    const demoteSelf = await owner.s.call('PATCH', `/api/v1/orgs/${org}/members/${owner.userId}`, { role: 'admin' });
    assert.equal(demoteSelf.status, 409);
    assert.equal(demoteSelf.body.error.field, 'role');

    const memberInvite = await ada.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'member' });
    const mo = await Session.signUp(t.url, 'Mo');
    await mo.s.call('POST', `/api/v1/invites/${memberInvite.body.invite_url.split('/').pop()}/accept`);
    // A member cannot manage tokens, invites or others.
    assert.equal((await mo.s.call('GET', `/api/v1/orgs/${org}/tokens`)).status, 403);
    assert.equal((await mo.s.call('POST', `/api/v1/orgs/${org}/tokens`, { name: 'x' })).status, 403);
    assert.equal((await mo.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'member' })).status, 403);
    assert.equal((await mo.s.call('DELETE', `/api/v1/orgs/${org}/members/${ada.userId}`)).status, 403);
    // ...but works with talks through the session.
    const talk = await mo.s.call('POST', '/api/p/talk', { name: 'Member talk' }, { 'x-partner-id': org });
    assert.equal(talk.status, 200);

    const promoted = await owner.s.call('PATCH', `/api/v1/orgs/${org}/members/${mo.userId}`, { role: 'admin' });
    assert.deepEqual(promoted.body.member, { id: mo.userId, role: 'admin' });
    assert.equal((await mo.s.call('GET', `/api/v1/orgs/${org}/tokens`)).status, 200);

    assert.equal((await ada.s.call('DELETE', `/api/v1/orgs/${org}/members/${mo.userId}`)).status, 200);
    const members = (await owner.s.call('GET', `/api/v1/orgs/${org}/members`)).body.members;
    assert.deepEqual(members.map((m: { name: string; role: string }) => `${m.name}:${m.role}`).sort(), ['Ada:admin', 'Olive:owner']);
    assert.equal((await mo.s.call('GET', `/api/v1/orgs/${org}/members`)).status, 404, 'a removed member no longer sees the organization');

    const pending = await owner.s.call('POST', `/api/v1/orgs/${org}/invites`, { role: 'member' });
    assert.equal((await owner.s.call('DELETE', `/api/v1/orgs/${org}/invites/${pending.body.invite.id}`)).status, 200);
    assert.equal((await api(t, 'GET', `/api/v1/invites/${pending.body.invite_url.split('/').pop()}`)).status, 404);
  });
});

/** The app with its log kept (the reset link is in it), no background jobs. */
const appWithLog = (env: Record<string, string>) => startApp({ env, logs: true, background: [] });

async function resetFlow(url: string, email: string, link: string) {
  const token = new URL(link).searchParams.get('token') ?? '';
  assert.ok(link.startsWith(`${url}/dashboard/reset-password?token=`));
  const fresh = new Session(url);
  const bad = await fresh.call('POST', '/api/v1/auth/reset-password', { token: 'x'.repeat(43), password: 'new password 123' });
  assert.equal(bad.status, 404);
  assert.equal((bad.body as any).error.field, 'token');
  const ok = await fresh.call('POST', '/api/v1/auth/reset-password', { token, password: 'new password 123' });
  assert.equal(ok.status, 200);
  assert.equal((ok.body as any).user.email, email);
  assert.equal((await fresh.call('POST', '/api/v1/auth/reset-password', { token, password: 'again password' })).status, 404, 'a reset link works once');
  assert.equal((await new Session(url).call('POST', '/api/v1/auth/login', { email, password: 'a long enough password' })).status, 401);
  assert.equal((await new Session(url).call('POST', '/api/v1/auth/login', { email, password: 'new password 123' })).status, 200);
}

describe('forgot password', () => {
  test('without SMTP the reset link is in the log, and only there; it resets the password once', async () => {
    const a = await appWithLog({});
    try {
      const { s, email } = await Session.signUp(a.url, 'Rita');
      const unknown = await new Session(a.url).call('POST', '/api/v1/auth/forgot-password', { email: 'nobody@example.test' });
      assert.equal(unknown.status, 200, 'unknown emails get the same answer');
      const r = await new Session(a.url).call('POST', '/api/v1/auth/forgot-password', { email: email.toUpperCase() });
      assert.deepEqual(r.body, { ok: true, error: null });
      const logged = a.lines.filter((l) => 'reset_link' in l);
      assert.equal(logged.length, 1);
      const link = String(logged[0].reset_link);
      // The old session is ended by the reset.
      await resetFlow(a.url, email, link);
      assert.equal((await s.call('GET', '/api/v1/auth/me')).status, 401);
      // Passwords never reach the log.
      assert.ok(!JSON.stringify(a.lines).includes('new password 123'));
    } finally {
      await a.close();
    }
  });

  test('with SMTP_URL the link is emailed (to a real SMTP conversation) and not logged', async () => {
    const { port, received, close: closeSmtp } = await startSmtp();
    const a = await appWithLog({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Talks <talks@example.test>' });
    try {
      const { email } = await Session.signUp(a.url, 'Sam');
      await new Session(a.url).call('POST', '/api/v1/auth/forgot-password', { email });
      const mail = await waitFor(() => received[0], 'the reset email');
      assert.match(mail, /Subject: Reset your smalltalk password/);
      assert.match(mail, /From: Talks <talks@example\.test>/);
      const link = mail
        .replace(/=\n/g, '')
        .match(/http:\/\/127\.0\.0\.1:\d+\/dashboard\/reset-password\?token=3D[\w-]+|http:\/\/127\.0\.0\.1:\d+\/dashboard\/reset-password\?token=[\w-]+/)?.[0];
      assert.ok(link, 'the mail holds the link');
      assert.equal(a.lines.filter((l) => 'reset_link' in l).length, 0, 'nothing secret in the log');
      await resetFlow(a.url, email, link.replace('token=3D', 'token='));
    } finally {
      await a.close();
      closeSmtp();
    }
  });
});
