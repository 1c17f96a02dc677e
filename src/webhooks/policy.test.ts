import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countsAsFailure, decideAttempt, endpointHealth, isDelivered, jitter, retryDelayMs } from './policy.js';
import type { AttemptResult } from './transport.js';

const policy = { schedule: [5, 300, 1800], disableAfterHours: 120 };
const now = new Date('2026-12-05T12:00:00.000Z');
const fresh = { cycle_attempts: 0, failing_since: null };
/** random() at the middle of its range: no jitter. */
const middle = () => 0.5;

function answer(statusCode: number | null, extra: Partial<AttemptResult> = {}): AttemptResult {
  return {
    statusCode,
    latencyMs: 12,
    responseBody: null,
    error: statusCode === null ? 'connect ECONNREFUSED' : null,
    retryAfterMs: null,
    refused: false,
    ...extra,
  };
}

describe('delivery policy', () => {
  test('a 2xx delivers; other answers, and no answer, do not', () => {
    for (const code of [200, 204, 299]) assert.equal(isDelivered(answer(code)), true, String(code));
    for (const code of [null, 199, 301, 404, 410, 500]) assert.equal(isDelivered(answer(code)), false, String(code));
  });

  test('a 2xx succeeds with no error and no retry', () => {
    assert.deepEqual(decideAttempt(answer(201), { cycle_attempts: 2, failing_since: new Date(0) }, policy, now, middle), {
      result: answer(201),
      status: 'succeeded',
      nextAttemptAt: null,
      disabledReason: null,
      ok: true,
      lastError: null,
    });
  });

  test('a failure is retried after the schedule entry of its cycle attempt', () => {
    for (const [attempt, seconds] of policy.schedule.entries()) {
      const outcome = decideAttempt(answer(500), { cycle_attempts: attempt, failing_since: null }, policy, now, middle);
      assert.equal(outcome.status, 'pending');
      assert.equal(outcome.lastError, 'HTTP 500');
      assert.equal(outcome.nextAttemptAt?.getTime(), now.getTime() + seconds * 1000, `attempt ${attempt}`);
    }
  });

  test('when the schedule is spent the delivery fails, the endpoint stays enabled', () => {
    const outcome = decideAttempt(answer(null), { cycle_attempts: policy.schedule.length, failing_since: null }, policy, now, middle);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.nextAttemptAt, null);
    assert.equal(outcome.disabledReason, null);
    assert.equal(outcome.lastError, 'connect ECONNREFUSED');
  });

  test('retries are jittered by at most ±10 %', () => {
    assert.equal(
      jitter(10_000, () => 0),
      9000,
    );
    assert.equal(
      jitter(10_000, () => 0.999999),
      11_000,
    );
    assert.equal(
      jitter(0, () => 0),
      0,
    );
  });

  test('a Retry-After longer than the schedule wins, capped at 24 h; a shorter one does not', () => {
    assert.equal(retryDelayMs(5, 60_000, middle), 60_000);
    assert.equal(retryDelayMs(5, 1000, middle), 5000);
    assert.equal(retryDelayMs(5, 7 * 24 * 3600_000, middle), 24 * 3600_000);
    const outcome = decideAttempt(answer(429, { retryAfterMs: 120_000 }), fresh, policy, now, middle);
    assert.equal(outcome.nextAttemptAt?.getTime(), now.getTime() + 120_000);
  });

  test('410 Gone disables the endpoint at once', () => {
    const outcome = decideAttempt(answer(410), fresh, policy, now, middle);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.nextAttemptAt, null);
    assert.equal(outcome.disabledReason, 'the receiver answered 410 Gone at 2026-12-05T12:00:00.000+00:00');
  });

  test('an endpoint failing continuously for disableAfterHours is disabled, not before', () => {
    const since = new Date(now.getTime() - 120 * 3600_000);
    const outcome = decideAttempt(answer(503), { cycle_attempts: 0, failing_since: since }, policy, now, middle);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.disabledReason, 'failing continuously since 2026-11-30T12:00:00.000+00:00; last error: HTTP 503');
    const younger = decideAttempt(answer(503), { cycle_attempts: 0, failing_since: new Date(since.getTime() + 1) }, policy, now, middle);
    assert.equal(younger.status, 'pending');
    assert.equal(younger.disabledReason, null);
    const never = decideAttempt(answer(503), { cycle_attempts: 0, failing_since: new Date(0) }, { ...policy, disableAfterHours: 0 }, now, middle);
    assert.equal(never.status, 'pending');
  });

  test('a refused URL fails the delivery at once and does not count as the endpoint failing', () => {
    const refused = answer(null, { error: 'refused: 10.0.0.1 is a private address', refused: true });
    const outcome = decideAttempt(refused, { cycle_attempts: 0, failing_since: new Date(0) }, policy, now, middle);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.nextAttemptAt, null);
    assert.equal(outcome.disabledReason, null);
    assert.equal(countsAsFailure(refused), false);
    assert.equal(countsAsFailure(answer(500)), true);
    assert.equal(countsAsFailure(answer(200)), false);
  });

  test("a batch's attempts clear failing_since on success and set it on failure, a success winning", () => {
    const since = new Date(0);
    const health = endpointHealth([
      { endpointId: 'a', failingSince: since, result: answer(200) },
      { endpointId: 'a', failingSince: since, result: answer(500) },
      { endpointId: 'b', failingSince: null, result: answer(200) },
      { endpointId: 'c', failingSince: null, result: answer(500) },
      { endpointId: 'c', failingSince: null, result: answer(null) },
      { endpointId: 'd', failingSince: null, result: answer(null, { refused: true }) },
    ]);
    assert.deepEqual(health, { recovered: ['a'], failing: ['c'] });
  });
});
