import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, startApp } from '../support/app.js';
import { postFrom, startProxy } from './edge-proxy.js';

const owner = { email: 'owner@example.test', password: 'the right password', name: 'Owner' };

function assertEnvelope(r: { status: number; headers: Record<string, unknown>; body: any }, code: string) {
  assert.equal(r.body?.error?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.request_id, 'string');
  if (r.status === 429) assert.match(String(r.headers['retry-after']), /^\d+$/);
}

const waitSeconds = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

describe('password attempts behind a proxy (TRUST_PROXY=1): the client cannot pick its own address', () => {
  let t: TestApp;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  before(async () => {
    t = await startApp({ env: { TRUST_PROXY: '1' } });
    await t.services.accounts.signUp(owner);
    proxy = await startProxy(t.url);
  });
  after(async () => {
    await proxy.close();
    await t.close();
  });

  test('30 wrong passwords with 30 forged X-Forwarded-For are limited; the owner logs in after the wait', async () => {
    const results = [];
    for (let i = 0; i < 30; i++) {
      results.push(
        await postFrom(
          `${proxy.url}/api/v1/auth/login`,
          { email: owner.email, password: `guess ${i}` },
          { headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } },
        ),
      );
    }
    const statuses = results.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(','),
    );
    assert.ok(statuses.filter((s) => s === 401).length <= 10, `at most 10 passwords were checked: ${statuses.join(',')}`);
    assert.deepEqual(statuses.slice(10), Array(20).fill(429), 'once limited, every later guess is refused');
    for (const r of results.filter((r) => r.status === 429)) assertEnvelope(r, 'rate_limited');

    // The owner, at their own address (the proxy appends it), after the account's wait.
    const first = await postFrom(`${proxy.url}/api/v1/auth/login`, { email: owner.email, password: owner.password }, { localAddress: '127.0.0.2' });
    if (first.status === 429) await waitSeconds(Number(first.headers['retry-after']));
    const ok = first.status === 429 ? await postFrom(`${proxy.url}/api/v1/auth/login`, owner, { localAddress: '127.0.0.2' }) : first;
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.user.email, owner.email);
  });
});

describe('password attempts per account, from many real addresses', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
    await t.services.accounts.signUp(owner);
  });
  after(async () => t.close());

  test('after 5 free failures the account waits, doubling; the right password after the wait works and resets the count', async () => {
    const login = (password: string, n: number) => postFrom(`${t.url}/api/v1/auth/login`, { email: owner.email, password }, { localAddress: `127.0.1.${n}` });
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await login(`guess ${i}`, i + 1));
    const statuses = results.map((r) => r.status);
    assert.deepEqual(statuses.slice(0, 6), Array(6).fill(401), `five free failures, the sixth checked too: ${statuses.join(',')}`);
    assert.ok(statuses.filter((s) => s === 401).length <= 9, `the rest wait (each address sent one or two): ${statuses.join(',')}`);
    const refused = results.find((r) => r.status === 429);
    assert.ok(refused);
    assertEnvelope(refused, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `a short wait at first (${retryAfter} s)`);

    // A right password during the wait is not checked either; after it, it works.
    const during = await login(owner.password, 100);
    assert.equal(during.status, 429);
    await waitSeconds(Number(during.headers['retry-after']));
    const ok = await login(owner.password, 101);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // The count starts again: the next wrong password is a plain 401.
    assert.equal((await login('wrong again', 102)).status, 401);
  });

  test('an unknown email waits exactly like a known one (no account enumeration through the backoff)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12 && !statuses.includes(429); i++) {
      statuses.push(
        (await postFrom(`${t.url}/api/v1/auth/login`, { email: 'nobody@example.test', password: 'x' }, { localAddress: `127.0.2.${i + 1}` })).status,
      );
    }
    // Each check takes a while on a busy machine, so a short wait may have passed before the next try.
    assert.deepEqual(statuses.slice(0, 6), Array(6).fill(401));
    assert.equal(statuses.at(-1), 429, statuses.join(','));
  });

  test('however many failures, the wait is capped at 15 minutes', async () => {
    const email = 'capped@example.test';
    await t.services.accounts.signUp({ ...owner, email });
    for (let i = 0; i < 6; i++) await postFrom(`${t.url}/api/v1/auth/login`, { email, password: 'x' }, { localAddress: `127.0.3.${i + 1}` });
    // As if it had failed a thousand times and its last wait just ended.
    await t.services.db.db
      .updateTable('login_failures')
      .set({ failures: 1000, blocked_until: new Date(Date.now() - 1000) })
      .execute();
    assert.equal((await postFrom(`${t.url}/api/v1/auth/login`, { email, password: 'x' }, { localAddress: '127.0.3.50' })).status, 401);
    const r = await postFrom(`${t.url}/api/v1/auth/login`, { email, password: 'x' }, { localAddress: '127.0.3.51' });
    assert.equal(r.status, 429);
    const wait = Number(r.headers['retry-after']);
    assert.ok(wait > 800 && wait <= 900, `capped at 15 min (${wait} s)`);
  });
});
