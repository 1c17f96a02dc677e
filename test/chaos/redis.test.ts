import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { PrivatePostgres, PrivateRedis, missingBinaries } from './servers.js';

// Scaled mode with Redis (our own, on its own port) unreachable at start, then up, then killed
// and restarted: the partner API keeps working (rate limits per node meanwhile), readiness says
// "degraded" with a 200, nothing is written outside the JSON log, and the counters are shared
// again once Redis is back.
const skip = missingBinaries({ postgres: true, redis: true });

describe('scaled mode: Redis unreachable at start and later', { skip, timeout: 300_000 }, () => {
  let cluster: PrivatePostgres;
  const redis = new PrivateRedis();
  let a: TestApp;
  let b: TestApp;
  const raw: string[] = [];
  const consoleError = console.error;

  before(async () => {
    // ioredis writes "[ioredis] Unhandled error event" through console.error.
    console.error = (...args: unknown[]) => {
      raw.push(args.map(String).join(' '));
      consoleError(...args);
    };
    cluster = await new PrivatePostgres().init();
    await redis.start();
    await redis.stop(); // its port is now known and nothing answers there
    const env = { DATABASE_URL: cluster.url, REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '30', SECRET_KEY: 'chaos-secret-key-0123456789abcdefghijkl' };
    a = await startApp({ env });
    b = await startApp({ env });
  });
  after(async () => {
    console.error = consoleError;
    await a?.close();
    await b?.close();
    await redis.stop();
    await cluster?.destroy();
  });

  /** Statuses of `n` calls with one token, alternating between the given nodes. */
  async function calls(token: string, nodes: TestApp[], n: number) {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await api(nodes[i % nodes.length], 'GET', '/api/v1/partners/groups', { token })).status);
    return statuses;
  }

  async function redisState(t: TestApp) {
    const ready = await api(t, 'GET', '/readyz');
    return { status: ready.status, body: ready.body as { status: string; checks: { redis: string } } };
  }

  test('unreachable at start: the API works with per-node limits, /readyz is 200 "degraded", no raw ioredis lines', async () => {
    const ready = await redisState(a);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'degraded');
    assert.match(ready.body.checks.redis, /unreachable/);
    const p = await createPartner(a, 'No Redis');
    const started = Date.now();
    const statuses = await calls(p.token, [a], 34);
    assert.ok(Date.now() - started < 20_000, `34 calls took ${Date.now() - started} ms`);
    assert.deepEqual(statuses.slice(0, 30), Array(30).fill(200), 'the first 30 answered');
    assert.deepEqual(statuses.slice(30), Array(4).fill(429), "this node's own limit holds");
    assert.equal((await api(b, 'GET', '/api/v1/partners/groups', { token: p.token })).status, 200, 'the other node counts on its own');
    assert.deepEqual(
      raw.filter((l) => l.includes('ioredis')),
      [],
    );
  });

  test('Redis comes up: ready, and the limit is shared by both nodes again', async () => {
    await redis.start();
    for (const node of [a, b]) await waitFor(async () => (await redisState(node)).body.checks.redis === 'ok', 'redis seen as up', 30_000);
    assert.equal((await redisState(a)).body.status, 'ready');
    const p = await createPartner(a, 'Shared');
    const rejected = (await calls(p.token, [a, b], 34)).filter((s) => s !== 200);
    assert.ok(rejected.length >= 4 && rejected.every((s) => s === 429), `30 a minute across both nodes: ${rejected}`);
  });

  test('Redis stalled: each request is answered within about a second (counted per node meanwhile)', async () => {
    const p = await createPartner(a, 'Stalled');
    const resume = redis.stall();
    try {
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        assert.equal((await api(a, 'GET', '/api/v1/partners/groups', { token: p.token })).status, 200);
        assert.ok(Date.now() - started < 3000, `answered in ${Date.now() - started} ms`);
      }
    } finally {
      resume();
    }
    await waitFor(async () => (await redisState(a)).body.status === 'ready', 'ready again', 30_000);
  });

  test('Redis killed while running, then restarted: the API keeps answering, then shared again', async () => {
    await redis.stop();
    await waitFor(async () => (await redisState(a)).body.status === 'degraded', 'degraded', 30_000);
    const p = await createPartner(a, 'Killed');
    assert.deepEqual(await calls(p.token, [a, b], 10), Array(10).fill(200));
    await redis.start();
    for (const node of [a, b]) await waitFor(async () => (await redisState(node)).body.status === 'ready', 'ready again', 30_000);
    const q = await createPartner(a, 'Back');
    const rejected = (await calls(q.token, [a, b], 34)).filter((s) => s !== 200);
    assert.ok(rejected.length >= 4 && rejected.every((s) => s === 429), `shared again: ${rejected}`);
    assert.deepEqual(
      raw.filter((l) => l.includes('ioredis')),
      [],
    );
  });
});
