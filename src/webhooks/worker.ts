import type { Job } from 'pg-boss';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { Db, Tx } from '../platform/db/index.js';
import type { WebhookSecret } from '../platform/db/schema.js';
import { iso } from '../platform/http.js';
import type { Queue } from '../platform/queue.js';
import { DELIVER_QUEUE, type DeliverJob } from './outbox.js';
import type { SecretsCodec } from './repository.js';
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
  /** Events older than this, with no delivery still pending, are deleted with their deliveries and attempts. 0 = keep forever. */
  retentionDays?: number;
  /** pg-boss's schema (for reclaiming jobs of dead workers). */
  queueSchema: string;
}

/** A delivery with what an attempt needs: the endpoint and the event's exact payload. */
export interface DeliveryRow {
  id: string;
  partner_id: string;
  endpoint_id: string;
  event_id: string;
  event_name: string;
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
const PRUNE_EVERY_MS = 3600_000;
const PRUNE_BATCH = 5000;
/** The default retention of the delivery log. */
export const WEBHOOK_RETENTION_DAYS = 30;
/** Fetched jobs held in memory for endpoints at their in-flight cap, over all endpoints. */
const MAX_HELD = 1024;
/** Attempts recorded per transaction at most. */
const RECORD_BATCH = 200;
/**
 * With nothing to do the loop polls less and less often, up to this. Jobs this process queues
 * wake it at once (an emit's nudge) or when they fall due (retries, deferrals); only jobs queued
 * elsewhere (another node, or a reclaim) wait for a poll. Polling every 50 ms took 5-6% of a core
 * on an idle embedded server (PGlite runs on the HTTP thread): 72-89 ms of CPU a second, 22 without.
 */
const IDLE_POLL_MAX_MS = 1000;
/** Due-time timers kept for `wakeAt` at most (beyond that, polling finds the jobs). */
const MAX_DUE = 10_000;

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
  private pruneTimer: NodeJS.Timeout | null = null;
  private nudgeTimer: NodeJS.Timeout | null = null;
  private idle: (() => void) | null = null;
  /** A nudge that came while the loop was busy: the next sleep returns at once. */
  private nudged = false;
  /** The next sleep when a fetch finds nothing: pollMs after work, doubling to IDLE_POLL_MAX_MS. */
  private idleMs: number;
  /** One timer per job this process queued for later, firing when it falls due. */
  private readonly dueTimers = new Set<NodeJS.Timeout>();
  /** Jobs fetched for an endpoint at its in-flight cap, launched as its attempts finish (still active in pg-boss). */
  private readonly held = new Map<string, Held[]>();
  private heldCount = 0;
  /**
   * next_caption lanes, one per (endpoint, talk): one attempt at a time, so a receiver gets a talk's
   * captions in seq order (within this process; `seq` orders them across nodes and retries).
   * `reserved` is the job the lane let through; `waiting` are fetched jobs behind it.
   */
  private readonly lanes = new Map<string, { reserved: string; waiting: Held[] }>();
  /** Finished attempts waiting to be recorded together in one transaction. */
  private readonly toRecord: PendingRecord[] = [];
  private flushing: Promise<void> | null = null;
  private readonly maxInFlight: number;
  private readonly perEndpointCap: number;
  private readonly pollMs: number;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue,
    private readonly log: Logger,
    private readonly secrets: SecretsCodec,
    private readonly options: WorkerOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.perEndpointCap = options.perEndpoint ?? 64;
    this.pollMs = options.pollMs ?? 50;
    this.idleMs = this.pollMs;
  }

  /** Asks the loop to poll soon (after an emit commits). */
  nudge = () => {
    if (!this.running) return;
    this.idleMs = this.pollMs;
    if (!this.wake) this.nudged = true;
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      this.wake?.();
    }, 3);
  };

  /** Wakes the loop when a job queued for `at` falls due. */
  private wakeAt(at: Date) {
    if (!this.running || this.dueTimers.size >= MAX_DUE) return;
    const timer = setTimeout(
      () => {
        this.dueTimers.delete(timer);
        this.nudge();
      },
      Math.min(2 ** 31 - 1, Math.max(0, at.getTime() - Date.now())),
    );
    timer.unref();
    this.dueTimers.add(timer);
  }

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
    const prune = () => this.prune().catch((err) => this.log.error({ err }, 'webhook log retention failed'));
    void prune();
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /**
   * Retention: deletes events older than the retention period whose deliveries are all finished
   * (their deliveries and attempts go with them, by cascade), in bounded batches. Returns how many.
   */
  async prune(now = new Date()): Promise<number> {
    const days = this.options.retentionDays ?? WEBHOOK_RETENTION_DAYS;
    if (days <= 0) return 0;
    const cutoff = new Date(now.getTime() - days * 86400_000);
    let total = 0;
    for (;;) {
      const result = await sql`delete from webhook_events where id in (
          select e.id from webhook_events e where e.created_at < ${cutoff}
            and not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
          limit ${PRUNE_BATCH})`.execute(this.db);
      const n = Number(result.numAffectedRows ?? 0);
      total += n;
      if (n < PRUNE_BATCH || !this.running) return total;
    }
  }

  async stop() {
    if (!this.running) return;
    this.running = false;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    for (const timer of this.dueTimers) clearTimeout(timer);
    this.dueTimers.clear();
    this.wake?.();
    await this.loopDone;
    await this.releaseHeld();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Puts held (fetched, not started) jobs back in the queue at stop. */
  private async releaseHeld() {
    const ids = [...[...this.held.values()].flat(), ...[...this.lanes.values()].flatMap((l) => l.waiting)].map((h) => h.job.id);
    this.held.clear();
    this.lanes.clear();
    this.heldCount = 0;
    if (ids.length === 0) return;
    const schema = this.options.queueSchema;
    await sql`update ${sql.id(schema, 'job')} set state = 'retry', start_after = now()
      where name = ${DELIVER_QUEUE} and state = 'active' and id in (${sql.join(ids.map((id) => sql`${id}::uuid`))})`.execute(this.db);
  }

  /**
   * Puts jobs whose worker died back in the queue: all active ones (`everyActive`, PGlite start-up)
   * or those past their expiry. pg-boss's own maintenance does the latter too, but only every 2 min.
   */
  private async reclaim(everyActive: boolean) {
    const schema = this.options.queueSchema;
    const expired = everyActive ? sql`true` : sql`started_on + expire_in < now()`;
    const reclaimed = await sql`update ${sql.id(schema, 'job')} set state = 'retry', start_after = now()
      where name = ${DELIVER_QUEUE} and state = 'active' and ${expired}`.execute(this.db);
    if (Number(reclaimed.numAffectedRows ?? 0) > 0) this.nudge();
  }

  private sleep(ms: number) {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
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
      const free = Math.min(this.maxInFlight - this.inFlight, MAX_HELD - this.heldCount, 100);
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
        const ms = this.idleMs;
        this.idleMs = Math.min(IDLE_POLL_MAX_MS, this.idleMs * 2);
        await this.sleep(ms);
        continue;
      }
      this.idleMs = this.pollMs;
      try {
        await this.dispatch(jobs);
      } catch (err) {
        // The jobs stay active and are reclaimed after expiry: nothing is lost.
        this.log.error({ err }, 'webhook dispatch failed');
        await this.sleep(1000);
      }
    }
  }

  private async dispatch(fetched: Job<DeliverJob>[]) {
    const rows = await this.loadRows(fetched.map((j) => j.data.d));
    const byId = new Map(rows.map((r) => [r.id, r]));
    // A fetch returns its jobs in no particular order: captions go in seq order (others first).
    const seqOf = (job: Job<DeliverJob>) => {
      const row = byId.get(job.data.d);
      return row ? (captionOf(row)?.seq ?? -1) : -1;
    };
    const jobs = [...fetched].sort((a, b) => seqOf(a) - seqOf(b));
    const now = Date.now();
    const stale: string[] = [];
    const disabled: { job: Job<DeliverJob>; row: DeliveryRow }[] = [];
    const deferred: { job: Job<DeliverJob>; until: number }[] = [];
    for (const job of jobs) {
      const row = byId.get(job.data.d);
      if (row?.status !== 'pending' || row.generation !== job.data.g) {
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
        const queue = this.held.get(row.endpoint_id) ?? [];
        if (queue.length >= this.perEndpointCap) {
          // Its attempts free slots no faster than they finish: look again in a quarter of the timeout.
          deferred.push({ job, until: now + Math.max(DEFER_BUSY_MS, this.options.timeoutMs / 4) });
          continue;
        }
        queue.push({ job, row });
        this.held.set(row.endpoint_id, queue);
        this.heldCount++;
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
      for (const { until } of deferred) this.wakeAt(new Date(until));
    }
  }

  private outboxJobOptions() {
    return { retryLimit: 1000, retryDelay: 1, expireInSeconds: Math.ceil(this.options.timeoutMs / 1000) + 15 };
  }

  /**
   * Runs one attempt. The endpoint's slot is freed as soon as its answer is in (and its outcome
   * decided, which blocks a failing endpoint before any held job launches), not after the group
   * commit that records it: the job stays active until then, so a crash still loses nothing.
   * `inFlight` counts attempts until they are recorded, which bounds what is held in memory.
   */
  private launch(job: Job<DeliverJob>, row: DeliveryRow) {
    const laneKey = laneOf(row);
    if (laneKey !== null) {
      const lane = this.lanes.get(laneKey);
      if (lane && lane.reserved !== job.id) {
        // In seq order: a caption fetched later (a retry, another batch) may be an earlier one.
        const seq = captionOf(row)?.seq ?? 0;
        const at = lane.waiting.findIndex((w) => (captionOf(w.row)?.seq ?? 0) > seq);
        lane.waiting.splice(at < 0 ? lane.waiting.length : at, 0, { job, row });
        this.heldCount++;
        return;
      }
      if (lane) lane.reserved = job.id;
      else this.lanes.set(laneKey, { reserved: job.id, waiting: [] });
    }
    this.inFlight++;
    this.perEndpoint.set(row.endpoint_id, (this.perEndpoint.get(row.endpoint_id) ?? 0) + 1);
    let slotFreed = false;
    const freeSlot = () => {
      if (slotFreed) return;
      slotFreed = true;
      const left = (this.perEndpoint.get(row.endpoint_id) ?? 1) - 1;
      if (left <= 0) this.perEndpoint.delete(row.endpoint_id);
      else this.perEndpoint.set(row.endpoint_id, left);
      this.launchHeld(row.endpoint_id);
      if (laneKey !== null) this.advanceLane(laneKey);
    };
    postWebhook(row.url, signedHeaders(row.event_id, row.payload, row.secrets), row.payload, this.options)
      .then((result) => {
        const recorded = this.record(row, job.id, result);
        freeSlot();
        return recorded;
      })
      .catch((err) => this.log.error({ err, delivery: row.id }, 'webhook attempt could not be recorded; the job will be retried'))
      .finally(() => {
        freeSlot();
        this.inFlight--;
        if (this.inFlight === 0 && this.idle) {
          this.idle();
          this.idle = null;
        }
        this.wake?.();
      });
  }

  /** Launches the next held job of an endpoint that has a free slot (deferring it if the endpoint is now blocked). */
  private launchHeld(endpointId: string) {
    const queue = this.held.get(endpointId);
    if (!queue?.length) return;
    if (!this.running) return;
    const next = queue.shift() as Held;
    this.heldCount--;
    if (queue.length === 0) this.held.delete(endpointId);
    if (!this.deferIfBlocked(next, () => this.launchHeld(endpointId))) this.launch(next.job, next.row);
  }

  /**
   * Lets the next next_caption of a lane through once the one before it has its answer: at the
   * front of its endpoint's held jobs when the endpoint is at its cap, deferred when it is blocked.
   */
  private advanceLane(laneKey: string) {
    const lane = this.lanes.get(laneKey);
    const next = lane?.waiting.shift();
    if (!lane || !next) {
      this.lanes.delete(laneKey);
      return;
    }
    this.heldCount--;
    lane.reserved = next.job.id;
    if (!this.running) return;
    if (this.deferIfBlocked(next)) return;
    if ((this.perEndpoint.get(next.row.endpoint_id) ?? 0) >= this.perEndpointCap) {
      const queue = this.held.get(next.row.endpoint_id) ?? [];
      queue.unshift(next);
      this.held.set(next.row.endpoint_id, queue);
      this.heldCount++;
      return;
    }
    this.launch(next.job, next.row);
  }

  /**
   * If the job's endpoint just failed, puts the job back in the queue for the endpoint's next
   * attempt time, then lets its lane (if it held one) move on and calls `then`; returns true.
   */
  private deferIfBlocked(next: Held, then?: () => void): boolean {
    const blocked = this.blockedUntil.get(next.row.endpoint_id) ?? 0;
    if (blocked <= Date.now()) return false;
    this.wakeAt(new Date(blocked));
    this.db
      .transaction()
      .execute(async (tx) => {
        await this.queue.boss.insert([{ name: DELIVER_QUEUE, data: next.job.data, ...this.outboxJobOptions(), startAfter: new Date(blocked) }], {
          db: this.queue.executor(tx) as never,
        });
        await completeInTx(this.queue, tx, [next.job.id]);
      })
      .catch((err) => this.log.error({ err }, 'deferring a held webhook job failed; it is retried after expiry'))
      .finally(() => {
        const laneKey = laneOf(next.row);
        if (laneKey !== null && this.lanes.get(laneKey)?.reserved === next.job.id) this.advanceLane(laneKey);
        then?.();
      });
    return true;
  }

  async loadRows(deliveryIds: string[]): Promise<DeliveryRow[]> {
    if (deliveryIds.length === 0) return [];
    const rows = (await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .select([
        'd.id',
        'd.partner_id',
        'd.endpoint_id',
        'd.event_id',
        'd.event_name',
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
    return rows.map((r) => this.secrets.opened(r));
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
    const outcome: AttemptOutcome = { result, status, nextAttemptAt, disabledReason };
    await new Promise<void>((resolve, reject) => {
      this.toRecord.push({ row, jobId, outcome, ok, lastError, at: now, resolve, reject });
      this.scheduleFlush();
    });
    return outcome;
  }

  /** Group commit: one transaction records every attempt finished meanwhile, one flush at a time. */
  private scheduleFlush() {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        while (this.toRecord.length > 0) {
          const batch = this.toRecord.splice(0, RECORD_BATCH);
          try {
            await this.db.transaction().execute((tx) => this.recordBatch(tx, batch));
            for (const p of batch) p.resolve();
          } catch (err) {
            for (const p of batch) p.reject(err);
          }
        }
      })
      .finally(() => {
        this.flushing = null;
        if (this.toRecord.length > 0) this.scheduleFlush();
      });
  }

  /**
   * Records attempts and completes their jobs in `tx`, in a constant number of statements. A
   * delivery moves only from its job's generation, so a stale or duplicate attempt changes nothing.
   */
  private async recordBatch(tx: Tx, batch: PendingRecord[]) {
    await tx
      .insertInto('webhook_attempts')
      .values(
        batch.map(({ row, outcome: { result }, at }) => ({
          delivery_id: row.id,
          attempted_at: new Date(at.getTime() - result.latencyMs),
          status_code: result.statusCode,
          latency_ms: result.latencyMs,
          response_body: result.responseBody,
          error: result.error,
        })),
      )
      .execute();
    const values = sql.join(
      batch.map(
        ({ row, outcome, lastError, at }) =>
          sql`(${row.id}::uuid, ${row.generation}::int, ${outcome.status}::text, ${outcome.nextAttemptAt ? row.generation + 1 : row.generation}::int, ${outcome.nextAttemptAt}::timestamptz, ${outcome.disabledReason ?? lastError}::text, ${at}::timestamptz)`,
      ),
    );
    const updated = await sql<{ id: string }>`update webhook_deliveries d set
        status = v.status, attempt_count = d.attempt_count + 1, cycle_attempts = d.cycle_attempts + 1,
        generation = v.next_generation, next_attempt_at = v.next_attempt_at, last_error = v.last_error, updated_at = v.at
      from (values ${values}) as v(id, generation, status, next_generation, next_attempt_at, last_error, at)
      where d.id = v.id and d.generation = v.generation and d.status = 'pending'
      returning d.id`.execute(tx);
    const moved = new Set(updated.rows.map((r) => r.id));
    const retries = batch.filter((p) => p.outcome.nextAttemptAt && moved.has(p.row.id));
    if (retries.length > 0) {
      await this.queue.boss.insert(
        retries.map((p) => ({
          name: DELIVER_QUEUE,
          data: { d: p.row.id, g: p.row.generation + 1 },
          ...this.outboxJobOptions(),
          startAfter: p.outcome.nextAttemptAt as Date,
        })),
        { db: this.queue.executor(tx) as never },
      );
      for (const p of retries) this.wakeAt(p.outcome.nextAttemptAt as Date);
    }
    const now = new Date();
    for (const p of batch) {
      if (!p.outcome.disabledReason) continue;
      await tx
        .updateTable('webhook_endpoints')
        .set({ enabled: false, disabled_reason: p.outcome.disabledReason, disabled_at: p.at, updated_at: now })
        .where('id', '=', p.row.endpoint_id)
        .execute();
    }
    // failing_since: cleared by any success in the batch, else set by a failure (refusals do not count).
    const succeeded = new Set(batch.filter((p) => p.ok).map((p) => p.row.endpoint_id));
    const failing = new Set(batch.filter((p) => !p.ok && !p.outcome.result.refused && !succeeded.has(p.row.endpoint_id)).map((p) => p.row.endpoint_id));
    const clear = batch.filter((p) => p.ok && p.row.failing_since).map((p) => p.row.endpoint_id);
    if (clear.length > 0)
      await tx
        .updateTable('webhook_endpoints')
        .set({ failing_since: null })
        .where('id', 'in', [...new Set(clear)])
        .execute();
    if (failing.size > 0)
      await tx
        .updateTable('webhook_endpoints')
        .set({ failing_since: now })
        .where('id', 'in', [...failing])
        .where('failing_since', 'is', null)
        .execute();
    await completeInTx(
      this.queue,
      tx,
      batch.flatMap((p) => (p.jobId ? [p.jobId] : [])),
    );
  }
}

/** A fetched job waiting in memory (still active in pg-boss) with its delivery. */
interface Held {
  job: Job<DeliverJob>;
  row: DeliveryRow;
}

const captions = new WeakMap<DeliveryRow, { talkId: string; seq: number } | null>();

/** A next_caption delivery's talk and seq (parsed once per row); null for other events. */
function captionOf(row: DeliveryRow): { talkId: string; seq: number } | null {
  if (row.event_name !== 'next_caption') return null;
  let caption = captions.get(row);
  if (caption === undefined) {
    try {
      const body = (JSON.parse(row.payload) as { body?: { talkId?: unknown; seq?: unknown } }).body;
      caption = { talkId: String(body?.talkId ?? ''), seq: Number(body?.seq ?? 0) };
    } catch {
      caption = null;
    }
    captions.set(row, caption);
  }
  return caption;
}

/** The next_caption lane of a delivery (endpoint and talk), or null for other events. */
function laneOf(row: DeliveryRow): string | null {
  const caption = captionOf(row);
  return caption ? `${row.endpoint_id} ${caption.talkId}` : null;
}

interface PendingRecord {
  row: DeliveryRow;
  jobId: string | null;
  outcome: AttemptOutcome;
  ok: boolean;
  lastError: string | null;
  at: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
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
