import { iso } from '../platform/http.js';
import type { AttemptResult } from './transport.js';

/** When a failed delivery is tried again, and when its endpoint is given up on. */
export interface DeliveryPolicy {
  /** Retry delays in seconds after the first attempt of a cycle. */
  schedule: number[];
  /** Hours of continuous failure after which the endpoint is disabled; 0 = never. */
  disableAfterHours: number;
}

/** What an attempt leads to: the delivery's new status, its next attempt, and whether the endpoint is disabled. */
export interface AttemptOutcome {
  result: AttemptResult;
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
  /** Set when the endpoint is to be disabled; it is also the delivery's last error then. */
  disabledReason: string | null;
  /** The receiver answered 2xx. */
  ok: boolean;
  /** The attempt's error (`HTTP 500`, a network error), null when it succeeded. */
  lastError: string | null;
}

/** A Retry-After longer than this is capped to it. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/** A 2xx answer delivers; anything else, or no answer, is a failed attempt. */
export function isDelivered(result: Pick<AttemptResult, 'statusCode'>): boolean {
  return result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
}

/**
 * Whether a failed attempt counts towards the endpoint's continuous failure (`failing_since`):
 * a URL refused before any connection (SSRF guard, scheme) says nothing about the receiver.
 */
export function countsAsFailure(result: Pick<AttemptResult, 'statusCode' | 'refused'>): boolean {
  return !isDelivered(result) && !result.refused;
}

/**
 * Decides what an attempt leads to. A 2xx succeeds; 410 Gone disables the endpoint; a refused URL
 * fails the delivery at once; any other failure disables the endpoint once it has failed
 * continuously for `disableAfterHours`, else is retried on the schedule (a later Retry-After
 * wins), else fails the delivery when the schedule is spent.
 */
export function decideAttempt(
  result: AttemptResult,
  delivery: { cycle_attempts: number; failing_since: Date | null },
  policy: DeliveryPolicy,
  now: Date,
  random: () => number = Math.random,
): AttemptOutcome {
  const ok = isDelivered(result);
  const outcome: AttemptOutcome = {
    result,
    status: ok ? 'succeeded' : 'failed',
    nextAttemptAt: null,
    disabledReason: null,
    ok,
    lastError: ok ? null : (result.error ?? `HTTP ${result.statusCode}`),
  };
  if (ok || result.refused) return outcome;
  if (result.statusCode === 410) return { ...outcome, disabledReason: `the receiver answered 410 Gone at ${iso(now)}` };
  const failingSince = delivery.failing_since ?? now;
  const limitMs = policy.disableAfterHours * 3600_000;
  if (limitMs > 0 && now.getTime() - failingSince.getTime() >= limitMs) {
    return { ...outcome, disabledReason: `failing continuously since ${iso(failingSince)}; last error: ${outcome.lastError}` };
  }
  if (delivery.cycle_attempts >= policy.schedule.length) return outcome;
  const delay = retryDelayMs(policy.schedule[delivery.cycle_attempts], result.retryAfterMs, random);
  return { ...outcome, status: 'pending', nextAttemptAt: new Date(now.getTime() + delay) };
}

/** The wait before a retry: the schedule's delay jittered, or the receiver's Retry-After (capped at 24 h) when longer. */
export function retryDelayMs(scheduleSeconds: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const delay = jitter(scheduleSeconds * 1000, random);
  return retryAfterMs === null ? delay : Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
}

/** ±10 % so that many deliveries failing together do not retry in lockstep. */
export function jitter(ms: number, random: () => number = Math.random): number {
  if (ms <= 0) return 0;
  return Math.round(ms * (0.9 + random() * 0.2));
}

/**
 * How a batch of attempts changes its endpoints' `failing_since`: a success clears it (`recovered`:
 * endpoints that had one), a failure that counts sets it if unset (`failing`), unless another
 * attempt of the batch to the same endpoint succeeded.
 */
export function endpointHealth(attempts: { endpointId: string; failingSince: Date | null; result: AttemptResult }[]): {
  recovered: string[];
  failing: string[];
} {
  const succeeded = new Set(attempts.filter((a) => isDelivered(a.result)).map((a) => a.endpointId));
  const recovered = new Set(attempts.filter((a) => isDelivered(a.result) && a.failingSince).map((a) => a.endpointId));
  const failing = new Set(attempts.filter((a) => countsAsFailure(a.result) && !succeeded.has(a.endpointId)).map((a) => a.endpointId));
  return { recovered: [...recovered], failing: [...failing] };
}
