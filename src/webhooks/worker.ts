import type { Job } from 'pg-boss';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { Db, Tx } from '../platform/db/index.js';
import type { WebhookSecret } from '../platform/db/schema.js';
import { iso } from '../platform/http.js';
import type { Queue } from '../platform/queue.js';
import { DELIVER_QUEUE, type DeliverJob, type Outbox } from './outbox.js';
import { signedHeaders } from './signing.js';
import { type AttemptResult, postWebhook } from './transport.js';

export interface WorkerOptions {
  dbKind: 'pglite' | 'postgres';
  timeoutMs: number;
  allowPrivate: boolean;
  allowHttp: boolean;
  /** Retry delays in seconds after the first attempt. */
  schedule: number[];
  /** 0 = never disable. */
  disableAfterHours: number;
  /** Attempts in flight in this process. */
  maxInFlight?: number;
  /** Attempts in flight per endpoint in this process: a slow endpoint cannot take every slot. */
  perEndpoint?: number;
  pollMs?: number;
  /** pg-boss's schema (for reclaiming jobs of dead workers). */
  queueSchema: string;
}

/** A delivery with what an attempt needs: the endpoint and the event's exact payload. */
export interface DeliveryRow {
  id: string;
  partner_id: string;
  endpoint_id: string;
  event_id: string;
  status: string;
  generation: number;
  cycle_attempts: number;
  url: string;
  enabled: boolean;
  secrets: WebhookSecret[];
  failing_since: Date | null;
  payload: string;
}

/** How an attempt ended, as the test endpoint reports it. */
export interface AttemptOutcome {
  result: AttemptResult;
  status: 'pending' | 'succeeded' | 'failed';
  nextAttemptAt: Date | null;
  disabledReason: string | null;
}

const DEFER_BUSY_MS = 1000;
const RECLAIM_EVERY_MS = 10_000;

/**
 * Fetches delivery jobs and runs each attempt on its own: a job is completed the moment its
 * attempt is recorded, never held for a batch. Per-endpoint in-flight caps and a short circuit
 * for endpoints that just failed keep one slow or dead receiver from delaying the others.
 */
export class DeliveryWorker {
  private running = false;
  private inFlight = 0;
  private readonly perEndpoint = new Map<string, number>();
  private readonly blockedUntil = new Map<string, number>();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> | null = null;
  private reclaimTimer: NodeJS.Timeout | null = null;
  private nudgeTimer: NodeJS.Timeout | null = null;
  private idle: (() => void) | null = null;
  private readonly maxInFlight: number;
  private readonly perEndpointCap: number;
  private readonly pollMs: number;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue,
    private readonly outbox: Outbox,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.perEndpointCap = options.perEndpoint ?? 64;
    this.pollMs = options.pollMs ?? 50;
  }

  /** Asks the loop to poll soon (after an emit commits). */
  nudge = () => {
    if (this.nudgeTimer || !this.running) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      this.wake?.();
    }, 3);
  };

  async start() {
    if (this.running) return;
    // PGlite is one process (the data directory is locked): an active job at start-up belongs to
    // a process that died mid-attempt. Postgres may have other live nodes: wait for expiry there.
    await this.reclaim(this.options.dbKind === 'pglite');
    this.running = true;
    this.loopDone = this.loop();
    this.reclaimTimer = setInterval(() => {
      this.reclaim(false).catch((err) => this.log.error({ err }, 'webhook job reclaim failed'));
    }, RECLAIM_EVERY_MS);
    this.reclaimTimer.unref();
  }

  async stop() {
    if (!this.running) return;
    this.running = false;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    this.wake?.();
    await this.loopDone;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /**
   * Puts jobs whose worker died back in the queue: all active ones (`everyActive`, PGlite start-up)
   * or those past their expiry. pg-boss's own maintenance does the latter too, but only every 2 min.
   */
  private async reclaim(everyActive: boolean) {
    const schema = this.options.queueSchema;
    const expired = everyActive ? sql`true` : sql`started_on + expire_in < now()`;
    await sql`update ${sql.id(schema, 'job')} set state = 'retry', start_after = now()
      where name = ${DELIVER_QUEUE} and state = 'active' and ${expired}`.execute(this.db);
  }

  private sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async loop() {
    while (this.running) {
      const free = Math.min(this.maxInFlight - this.inFlight, 100);
      if (free <= 0) {
        await this.sleep(this.pollMs);
        continue;
      }
      let jobs: Job<DeliverJob>[];
      try {
        jobs = await this.queue.boss.fetch<DeliverJob>(DELIVER_QUEUE, { batchSize: free });
      } catch (err) {
        this.log.error({ err }, 'webhook job fetch failed');
        await this.sleep(1000);
        continue;
      }
      if (jobs.length === 0) {
        await this.sleep(this.pollMs);
        continue;
      }
      try {
        await this.dispatch(jobs);
      } catch (err) {
        // The jobs stay active and are reclaimed after expiry: nothing is lost.
        this.log.error({ err }, 'webhook dispatch failed');
        await this.sleep(1000);
      }
    }
  }

  private async dispatch(jobs: Job<DeliverJob>[]) {
    const rows = await this.loadRows(jobs.map((j) => j.data.d));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const now = Date.now();
    const stale: string[] = [];
    const disabled: { job: Job<DeliverJob>; row: DeliveryRow }[] = [];
    const deferred: { job: Job<DeliverJob>; until: number }[] = [];
    for (const job of jobs) {
      const row = byId.get(job.data.d);
      if (!row || row.status !== 'pending' || row.generation !== job.data.g) {
        stale.push(job.id);
        continue;
      }
      if (!row.enabled) {
        disabled.push({ job, row });
        continue;
      }
      const blocked = this.blockedUntil.get(row.endpoint_id) ?? 0;
      if (blocked > now) {
        deferred.push({ job, until: blocked });
        continue;
      }
      if (blocked) this.blockedUntil.delete(row.endpoint_id);
      const busy = this.perEndpoint.get(row.endpoint_id) ?? 0;
      if (busy >= this.perEndpointCap) {
        deferred.push({ job, until: now + DEFER_BUSY_MS });
        continue;
      }
      this.launch(job, row);
    }
    if (stale.length > 0) await this.queue.boss.complete(DELIVER_QUEUE, stale);
    if (disabled.length > 0 || deferred.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        const db = this.queue.executor(tx) as never;
        for (const { row } of disabled) {
          await tx
            .updateTable('webhook_deliveries')
            .set({ status: 'failed', last_error: 'endpoint disabled', next_attempt_at: null, updated_at: new Date() })
            .where('id', '=', row.id)
            .where('generation', '=', row.generation)
            .execute();
        }
        // A deferred job is replaced by a later one of the same generation: no attempt is counted.
        await this.queue.boss.insert(
          deferred.map(({ job, until }) => ({ name: DELIVER_QUEUE, data: job.data, ...this.outboxJobOptions(), startAfter: new Date(until) })),
          { db },
        );
        await completeInTx(this.queue, tx, [...disabled.map((d) => d.job.id), ...deferred.map((d) => d.job.id)]);
      });
    }
  }

  private outboxJobOptions() {
    return { retryLimit: 1000, retryDelay: 1, expireInSeconds: Math.ceil(this.options.timeoutMs / 1000) + 15 };
  }

  private launch(job: Job<DeliverJob>, row: DeliveryRow) {
    this.inFlight++;
    this.perEndpoint.set(row.endpoint_id, (this.perEndpoint.get(row.endpoint_id) ?? 0) + 1);
    this.attempt(row, job.id)
      .catch((err) => this.log.error({ err, delivery: row.id }, 'webhook attempt could not be recorded; the job will be retried'))
      .finally(() => {
        this.inFlight--;
        const left = (this.perEndpoint.get(row.endpoint_id) ?? 1) - 1;
        if (left <= 0) this.perEndpoint.delete(row.endpoint_id);
        else this.perEndpoint.set(row.endpoint_id, left);
        if (this.inFlight === 0 && this.idle) {
          this.idle();
          this.idle = null;
        }
        this.wake?.();
      });
  }

  async loadRows(deliveryIds: string[]): Promise<DeliveryRow[]> {
    if (deliveryIds.length === 0) return [];
    return (await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .select([
        'd.id',
        'd.partner_id',
        'd.endpoint_id',
        'd.event_id',
        'd.status',
        'd.generation',
        'd.cycle_attempts',
        'e.url',
        'e.enabled',
        'e.secrets',
        'e.failing_since',
        'v.payload',
      ])
      .where('d.id', 'in', deliveryIds)
      .execute()) as DeliveryRow[];
  }

  /** Sends one attempt and records it; `jobId` is completed in the same transaction. */
  async attempt(row: DeliveryRow, jobId: string | null): Promise<AttemptOutcome> {
    const headers = signedHeaders(row.event_id, row.payload, row.secrets);
    const result = await postWebhook(row.url, headers, row.payload, this.options);
    return this.record(row, jobId, result);
  }

  private async record(row: DeliveryRow, jobId: string | null, result: AttemptResult): Promise<AttemptOutcome> {
    const now = new Date();
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    let status: AttemptOutcome['status'] = 'failed';
    let nextAttemptAt: Date | null = null;
    let disabledReason: string | null = null;
    const lastError = ok ? null : (result.error ?? `HTTP ${result.statusCode}`);
    if (ok) {
      status = 'succeeded';
      this.blockedUntil.delete(row.endpoint_id);
    } else if (result.statusCode === 410) {
      disabledReason = `the receiver answered 410 Gone at ${iso(now)}`;
    } else if (!result.refused) {
      const failingSince = row.failing_since ?? now;
      const limitMs = this.options.disableAfterHours * 3600_000;
      if (limitMs > 0 && now.getTime() - failingSince.getTime() >= limitMs) {
        disabledReason = `failing continuously since ${iso(failingSince)}; last error: ${lastError}`;
      } else if (row.cycle_attempts < this.options.schedule.length) {
        let delay = jitter(this.options.schedule[row.cycle_attempts] * 1000);
        if (result.retryAfterMs !== null) delay = Math.max(delay, Math.min(result.retryAfterMs, 24 * 3600_000));
        nextAttemptAt = new Date(now.getTime() + delay);
        status = 'pending';
        this.blockedUntil.set(row.endpoint_id, nextAttemptAt.getTime());
      }
    }
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: row.id,
          attempted_at: new Date(now.getTime() - result.latencyMs),
          status_code: result.statusCode,
          latency_ms: result.latencyMs,
          response_body: result.responseBody,
          error: result.error,
        })
        .execute();
      const updated = await tx
        .updateTable('webhook_deliveries')
        .set({
          status,
          attempt_count: sql`attempt_count + 1`,
          cycle_attempts: sql`cycle_attempts + 1`,
          generation: nextAttemptAt ? row.generation + 1 : row.generation,
          next_attempt_at: nextAttemptAt,
          last_error: disabledReason ?? lastError,
          updated_at: now,
        })
        .where('id', '=', row.id)
        .where('generation', '=', row.generation)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (nextAttemptAt && Number(updated.numUpdatedRows) > 0) {
        await this.outbox.queueJobs(tx, [{ d: row.id, g: row.generation + 1 }], nextAttemptAt);
      }
      if (disabledReason) {
        await tx
          .updateTable('webhook_endpoints')
          .set({ enabled: false, disabled_reason: disabledReason, disabled_at: now, updated_at: now })
          .where('id', '=', row.endpoint_id)
          .execute();
      } else if (ok && row.failing_since) {
        await tx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', row.endpoint_id).execute();
      } else if (!ok && !result.refused && !row.failing_since) {
        await tx.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', '=', row.endpoint_id).where('failing_since', 'is', null).execute();
      }
      if (jobId) await completeInTx(this.queue, tx, [jobId]);
    });
    return { result, status, nextAttemptAt, disabledReason };
  }
}

/**
 * Completes jobs inside `tx`. pg-boss's complete() reads its third argument as output data, so
 * the connection option must be the fourth: passed third, it would run on the shared connection,
 * which on PGlite waits forever for the transaction that is waiting for it.
 */
async function completeInTx(queue: Queue, tx: Tx, ids: string[]) {
  if (ids.length === 0) return;
  const complete = queue.boss.complete.bind(queue.boss) as unknown as (name: string, ids: string[], data: null, options: { db: unknown }) => Promise<unknown>;
  await complete(DELIVER_QUEUE, ids, null, { db: queue.executor(tx) });
}

/** ±10 % so that many deliveries failing together do not retry in lockstep. */
function jitter(ms: number): number {
  if (ms <= 0) return 0;
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}
