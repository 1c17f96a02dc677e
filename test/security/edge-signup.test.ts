import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { startSmtp } from '../support/smtp.js';
import { postFrom } from './edge-proxy.js';

/** The shape of a JSON value: its keys and the types of its leaves, not their contents. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  return value === null ? 'null' : typeof value;
}

const cookieNames = (headers: Record<string, unknown>) => ([headers['set-cookie']].flat().filter(Boolean) as string[]).map((c) => c.split('=')[0]).sort();

describe('sign-up: limited per address, and no account enumeration', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  before(async () => {
    smtp = await startSmtp();
    t = await startApp({ env: { SIGNUPS_PER_HOUR: '5', SMTP_URL: `smtp://127.0.0.1:${smtp.port}` } });
  });
  after(async () => {
    await t.close();
    smtp.close();
  });

  const signUp = (email: string, from: string, password = 'a long enough password') =>
    postFrom(`${t.url}/api/v1/auth/signup`, { email, password, name: 'Someone' }, { localAddress: from });

  test('five accounts from one address at once, then 429 with the wait; another address is not held up', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await signUp(`many-${i}@example.test`, '127.0.4.1')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
    const sixth = await signUp('many-5@example.test', '127.0.4.1');
    assert.equal(sixth.status, 429);
    assert.equal(sixth.body.error.code, 'rate_limited');
    assert.equal(typeof sixth.body.error.request_id, 'string');
    const wait = Number(sixth.headers['retry-after']);
    assert.ok(wait > 600 && wait <= 720, `one more in 12 minutes (${wait} s)`);
    assert.equal((await signUp('other@example.test', '127.0.4.2')).status, 200);
  });

  test('a known email gets the same answer as a new one; its owner is mailed and no second account is made', async () => {
    const fresh = await signUp('first@example.test', '127.0.5.1');
    const known = await signUp('FIRST@example.test', '127.0.5.2', 'the attacker password');
    assert.equal(known.status, fresh.status);
    assert.deepEqual(shape(known.body), shape(fresh.body));
    assert.deepEqual(cookieNames(known.headers), cookieNames(fresh.headers));
    assert.notEqual(known.body.user.id, fresh.body.user.id);

    const mail = await waitFor(() => smtp.received.find((m) => /To: FIRST@example\.test|To: first@example\.test/i.test(m)), 'the notice to the owner');
    assert.match(mail, /Subject: Someone tried to sign up with your email/);
    assert.equal(smtp.received.length, 1, 'only the known email was mailed');

    const attacker = await postFrom(
      `${t.url}/api/v1/auth/login`,
      { email: 'first@example.test', password: 'the attacker password' },
      { localAddress: '127.0.5.3' },
    );
    assert.equal(attacker.status, 401, 'the second sign-up changed nothing');
    const ownerLogin = await postFrom(
      `${t.url}/api/v1/auth/login`,
      { email: 'first@example.test', password: 'a long enough password' },
      { localAddress: '127.0.5.3' },
    );
    assert.equal(ownerLogin.status, 200);
  });
});
