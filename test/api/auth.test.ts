import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, createPartner, startApp } from '../support/app.js';
import { cookiesOf, logIn } from '../support/session.js';

describe('accounts, sessions and API tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  test('partner routes without a token, or with an unknown one, are 401 in the error envelope', async () => {
    for (const headers of [{}, { authorization: 'Bearer st_unknown' }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
      const res = await api(t, 'GET', '/api/v1/partners/talks', { headers });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.ok(res.body.error.request_id);
    }
    const post = await api(t, 'POST', '/api/p/talk', { json: { name: 'x' } });
    assert.equal(post.status, 401);
  });

  test('sign up, create an organization, create a token (shown once), use it, revoke it: 401 at once', async () => {
    const signup = await api(t, 'POST', '/api/v1/auth/signup', { json: { email: 'Ada@Example.test', password: 'long enough password', name: 'Ada' } });
    assert.equal(signup.status, 200, JSON.stringify(signup.body));
    const cookies = cookiesOf(signup);
    assert.ok(cookies.st_session && cookies.st_csrf);
    const setCookie = signup.headers.getSetCookie().find((c) => c.startsWith('st_session='))!;
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    const session = { cookie: `st_session=${cookies.st_session}`, 'x-csrf-token': signup.body.csrf_token };

    const noCsrf = await api(t, 'POST', '/api/v1/orgs', { headers: { cookie: session.cookie }, json: { name: 'Ada Labs' } });
    assert.equal(noCsrf.status, 403, 'state-changing session requests need the CSRF header');
    const org = await api(t, 'POST', '/api/v1/orgs', { headers: session, json: { name: 'Ada Labs' } });
    assert.equal(org.status, 200);
    const partnerId = org.body.partner.id;

    const created = await api(t, 'POST', `/api/v1/orgs/${partnerId}/tokens`, { headers: session, json: { name: 'ci' } });
    assert.equal(created.status, 200);
    const token = created.body.api_token as string;
    assert.match(token, /^st_/);
    assert.equal(created.body.token.prefix, token.slice(0, 10));

    const listed = await api(t, 'GET', `/api/v1/orgs/${partnerId}/tokens`, { headers: session });
    assert.equal(listed.body.tokens.length, 1);
    assert.equal(JSON.stringify(listed.body).includes(token), false, 'the token is never shown again');
    assert.equal('token_hash' in listed.body.tokens[0], false);

    const talk = await api(t, 'POST', '/api/p/talk', { token, json: { name: 'With a fresh token' } });
    assert.equal(talk.status, 200);
    assert.equal(talk.body.talk.partner_id, partnerId);

    const stored = await t.services.db.db.selectFrom('api_tokens').selectAll().where('partner_id', '=', partnerId).execute();
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0].token_hash, token);
    assert.match(stored[0].token_hash, /^[0-9a-f]{64}$/);

    const revoked = await api(t, 'DELETE', `/api/v1/orgs/${partnerId}/tokens/${created.body.token.id}`, { headers: session });
    assert.equal(revoked.status, 200);
    const after = await api(t, 'GET', '/api/v1/partners/talks', { token });
    assert.equal(after.status, 401, 'revocation takes effect at once on this node');
  });

  test('several tokens per partner: rotating without downtime', async () => {
    const p = await createPartner(t, 'Rotator');
    const second = await t.services.accounts.createToken(p.partnerId, 'second', p.userId);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks', { token: p.token })).status, 200);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks', { token: second.token })).status, 200);
    const first = (await t.services.accounts.repo.listTokens(p.partnerId)).find((x) => x.name === 'test')!;
    await t.services.accounts.revokeToken(p.partnerId, first.id);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks', { token: p.token })).status, 401);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks', { token: second.token })).status, 200);
  });

  test('log in with the wrong password is 401; with the right one starts a session; logout ends it', async () => {
    const p = await createPartner(t, 'Login');
    const wrong = await api(t, 'POST', '/api/v1/auth/login', { json: { email: p.email, password: 'nope' } });
    assert.equal(wrong.status, 401);
    const unknown = await api(t, 'POST', '/api/v1/auth/login', { json: { email: 'nobody@example.test', password: 'nope' } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.message, wrong.body.error.message, 'same answer for unknown emails');
    const ok = await api(t, 'POST', '/api/v1/auth/login', { json: { email: p.email.toUpperCase(), password: p.password } });
    assert.equal(ok.status, 200);
    assert.deepEqual(
      ok.body.partners.map((x: { id: string; role: string }) => [x.id, x.role]),
      [[p.partnerId, 'owner']],
    );
    const cookie = `st_session=${cookiesOf(ok).st_session}`;
    const me = await api(t, 'GET', '/api/v1/auth/me', { headers: { cookie } });
    assert.equal(me.body.user.email, p.email);
    // A session acts for its partner on the partner API with X-Partner-Id (the dashboard does this).
    const viaSession = await api(t, 'POST', '/api/p/talk', {
      headers: { cookie, 'x-partner-id': p.partnerId, 'x-csrf-token': ok.body.csrf_token },
      json: { name: 'From the dashboard' },
    });
    assert.equal(viaSession.status, 200);
    assert.equal(viaSession.body.talk.created_by_id, p.userId);
    const other = await createPartner(t, 'Not mine');
    const foreign = await api(t, 'GET', '/api/v1/partners/talks', { headers: { cookie, 'x-partner-id': other.partnerId } });
    assert.equal(foreign.status, 401, 'a session cannot act for an organization it does not belong to');
    const tokensOfOther = await api(t, 'GET', `/api/v1/orgs/${other.partnerId}/tokens`, { headers: { cookie } });
    assert.equal(tokensOfOther.status, 404);
    await api(t, 'POST', '/api/v1/auth/logout', { headers: { cookie, 'x-csrf-token': ok.body.csrf_token } });
    assert.equal((await api(t, 'GET', '/api/v1/auth/me', { headers: { cookie } })).status, 401);
  });

  test('signing up twice with one email answers alike and makes no second account; a short password is a 400', async () => {
    const body = { email: 'twice@example.test', password: 'long enough password', name: 'Twice' };
    assert.equal((await api(t, 'POST', '/api/v1/auth/signup', { json: body })).status, 200);
    const again = await api(t, 'POST', '/api/v1/auth/signup', { json: { ...body, email: 'TWICE@example.test', password: 'another password' } });
    assert.equal(again.status, 200, 'no 409: sign-up does not tell who has an account (test/security/edge-signup.test.ts)');
    assert.equal((await api(t, 'GET', '/api/v1/auth/me', { headers: { cookie: `st_session=${cookiesOf(again).st_session}` } })).status, 401);
    assert.equal((await api(t, 'POST', '/api/v1/auth/login', { json: { email: body.email, password: 'another password' } })).status, 401);
    const short = await api(t, 'POST', '/api/v1/auth/signup', { json: { ...body, email: 'short@example.test', password: 'short' } });
    assert.equal(short.status, 400);
    assert.equal(short.body.error.field, 'password');
  });

  test('a member may use the partner API but not manage API tokens', async () => {
    const p = await createPartner(t, 'Team');
    const member = await t.services.accounts.signUp({ email: 'member@example.test', password: 'long enough password', name: 'Member' });
    await t.services.accounts.repo.addMember(t.services.db.db, p.partnerId, member.id, 'member');
    const headers = await logIn(t, { email: 'member@example.test', password: 'long enough password' });
    assert.equal((await api(t, 'GET', `/api/v1/orgs/${p.partnerId}/tokens`, { headers })).status, 403);
    assert.equal((await api(t, 'POST', `/api/v1/orgs/${p.partnerId}/tokens`, { headers, json: { name: 'x' } })).status, 403);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks', { headers: { ...headers, 'x-partner-id': p.partnerId } })).status, 200);
  });
});
