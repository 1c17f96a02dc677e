import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, createPartner, dropSchema, startApp } from '../support/app.js';
import { needs } from '../support/needs.js';
import { waitFor } from '../support/wait.js';

// Scaled mode: two nodes on one Postgres and one Redis. Needs TEST_DATABASE_URL and
// TEST_REDIS_URL (CI sets both to this machine's servers); skipped with a notice otherwise, failed under CI.
const skip = await needs({ postgres: true, redis: true }, 'scaled mode needs a real Postgres and Redis');
const redis = process.env.TEST_REDIS_URL;

describe('scaled mode: two nodes, one Postgres, one Redis', { skip }, () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { REDIS_URL: redis as string, RATE_LIMIT_PER_MINUTE: '30', TOKEN_CACHE_SECONDS: '1' };
    a = await startApp({ db: 'postgres', schema, env });
    b = await startApp({ db: 'postgres', schema, env });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    if (!skip) await dropSchema(schema);
  });

  test('a talk created on one node is served by the other, with the same short URL host', async () => {
    const p = await createPartner(a, 'Scaled');
    const created = await api(a, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Across nodes' } });
    const seen = await api(b, 'GET', `/api/v1/partners/talks?talk_id=${created.body.talk.id}`, { token: p.token });
    assert.equal(seen.status, 200);
    assert.equal(seen.body.talks[0].name, 'Across nodes');
  });

  test('a token revoked on one node stops working on the other within TOKEN_CACHE_SECONDS', async () => {
    const p = await createPartner(a, 'Revoked');
    assert.equal((await api(b, 'GET', '/api/v1/partners/talks', { token: p.token })).status, 200);
    const row = (await a.services.accounts.repo.listTokens(p.partnerId))[0];
    await a.services.accounts.revokeToken(p.partnerId, row.id);
    assert.equal((await api(a, 'GET', '/api/v1/partners/talks', { token: p.token })).status, 401, 'at once on the revoking node');
    const started = Date.now();
    await waitFor(async () => (await api(b, 'GET', '/api/v1/partners/talks', { token: p.token })).status === 401, 'revocation on node b', 5000);
    assert.ok(Date.now() - started <= 2500, 'within about TOKEN_CACHE_SECONDS (1 s here)');
  });

  test("a token's rate limit is shared by the nodes through Redis", async () => {
    const p = await createPartner(a, 'Limited');
    let statuses: number[] = [];
    for (let i = 0; i < 34; i++) {
      const node = i % 2 === 0 ? a : b;
      statuses.push((await api(node, 'GET', '/api/v1/partners/groups', { token: p.token })).status);
    }
    statuses = statuses.filter((s) => s !== 200);
    assert.ok(statuses.length >= 4 && statuses.every((s) => s === 429), `30 a minute across both nodes, not 30 each: ${statuses}`);
  });
});
