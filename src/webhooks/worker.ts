import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import type { JobToInsert, Queue, QueueJob } from '../platform/queue.js';
import { insertBySeq, inSeqOrder, laneOf } from './caption-order.js';
import { type DeliveryLog, type DeliveryRow, WEBHOOK_RETENTION_DAYS } from './delivery-log.js';
import { DELIVER_QUEUE, type DeliverJob, jobOptions } from './outbox.js';
import { type AttemptOutcome, type DeliveryPolicy, decideAttempt } from './policy.js';
import { signedHeaders } from './signing.js';
import { type AttemptResult, type TransportOptions, postWebhook } from './transport.js';
import { Wakeups } from './wakeups.js';

export interface WorkerOptions extends DeliveryPolicy, TransportOptions {
  dbKind: 'pglite' | 'postgres';
  /** Attempts in flight in this process. */
  maxInFlight?: number;
  /** Attempts in flight per endpoint in this process: a slow endpoint cannot take every slot. */
  perEndpoint?: number;
  pollMs?: number;
  /** Events older than this, with no delivery still pending, are deleted with their deliveries and attempts. 0 = keep forever. */
  retentionDays?: number;
}

const DEFER_BUSY_MS = 1000;
const RECLAIM_EVERY_MS = 10_000;
const PRUNE_EVERY_MS = 3600_000;
/** Fetched jobs held in memory for endpoints at their in-flight cap, over all endpoints. */
const MAX_HELD = 1024;

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
  private loopDone: Promise<void> | null = null;
  private reclaimTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private idle: (() => void) | null = null;
  /** Jobs fetched for an endpoint at its in-flight cap, launched as its attempts finish (still active in pg-boss). */
  private readonly held = new Map<string, Held[]>();
  private heldCount = 0;
  /**
   * next_caption lanes, one per (endpoint, talk): one attempt at a time, so a receiver gets a talk's
   * captions in seq order (within this process; `seq` orders them across nodes and retries).
   * `reserved` is the job the lane let through; `waiting` are fetched jobs behind it.
   */
  private readonly lanes = new Map<string, { reserved: string; waiting: Held[] }>();
  private readonly maxInFlight: number;
  private readonly perEndpointCap: number;
  private readonly pollMs: number;
  private readonly wakeups: Wakeups;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue,
    private readonly deliveryLog: DeliveryLog,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 256;
    this.perEndpointCap = options.perEndpoint ?? 64;
    this.pollMs = options.pollMs ?? 50;
    this.wakeups = new Wakeups(this.pollMs);
  }

  /** Asks the loop to poll soon (after an emit commits). */
  nudge = () => this.wakeups.nudge();

  /**
   * The partner acted on a failing endpoint (asked for a retry or a replay, changed its URL or enabled
   * it): its attempts go out now instead of waiting out the block its last failure set (up to the
   * retry schedule's longest step). On this node: another node's block lasts until its next retry.
   */
  unblock(endpointId: string) {
    this.blockedUntil.delete(endpointId);
    this.nudge();
  }

  async start() {
    if (this.running) return;
    // PGlite is one process (the data directory is locked): an active job at start-up belongs to
    // a process that died mid-attempt. Postgres may have other live nodes: wait for expiry there.
    await this.reclaim(this.options.dbKind === 'pglite');
    this.running = true;
    this.wakeups.start();
    this.loopDone = this.loop();
    this.reclaimTimer = setInterval(() => {
      this.renewHeld()
        .then(() => this.reclaim(false))
        .catch((err) => this.log.error({ err }, 'webhook job reclaim failed'));
    }, RECLAIM_EVERY_MS);
    this.reclaimTimer.unref();
    const prune = () => this.prune().catch((err) => this.log.error({ err }, 'webhook log retention failed'));
    void prune();
    this.pruneTimer = setInterval(prune, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** Applies the delivery log's retention now (it also runs hourly); returns the events deleted. */
  prune(now = new Date()): Promise<number> {
    return this.deliveryLog.prune(this.options.retentionDays ?? WEBHOOK_RETENTION_DAYS, now, () => this.running);
  }

  async stop() {
    if (!this.running) return;
    this.running = false;
    if (this.reclaimTimer) clearInterval(this.reclaimTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.wakeups.stop();
    await this.loopDone;
    await this.releaseHeld();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** The jobs fetched and held here, not started yet (behind an endpoint's cap, or in a talk's caption lane). */
  private heldIds(): string[] {
    return [...[...this.held.values()].flat(), ...[...this.lanes.values()].flatMap((l) => l.waiting)].map((h) => h.job.id);
  }

  /**
   * Keeps the held jobs leased to this worker: one waiting its turn longer than its expiry (a slow
   * endpoint at its cap, a long caption lane) was otherwise reclaimed and fetched again, here or on
   * another node, and sent twice (and its copies took the held slots of every other endpoint).
   */
  private async renewHeld() {
    await this.queue.renewActive(DELIVER_QUEUE, this.heldIds());
  }

  /** Puts held (fetched, not started) jobs back in the queue at stop. */
  private async releaseHeld() {
    const ids = this.heldIds();
    this.held.clear();
    this.lanes.clear();
    this.heldCount = 0;
    await this.queue.releaseActive(DELIVER_QUEUE, ids);
  }

  /**
   * Puts jobs whose worker died back in the queue: all active ones (`everyActive`, PGlite start-up)
   * or those past their expiry. pg-boss's own maintenance does the latter too, but only every 2 min.
   */
  private async reclaim(everyActive: boolean) {
    if ((await this.queue.reclaimActive(DELIVER_QUEUE, { everyActive })) > 0) this.nudge();
  }

  private async loop() {
    while (this.running) {
      const free = Math.min(this.maxInFlight - this.inFlight, MAX_HELD - this.heldCount, 100);
      if (free <= 0) {
        await this.wakeups.sleep(this.pollMs);
        continue;
      }
      let jobs: QueueJob<DeliverJob>[];
      try {
        jobs = await this.queue.fetch<DeliverJob>(DELIVER_QUEUE, free);
      } catch (err) {
        this.log.error({ err }, 'webhook job fetch failed');
        await this.wakeups.sleep(1000);
        continue;
      }
      if (jobs.length === 0) {
        await this.wakeups.idle();
        continue;
      }
      this.wakeups.busy();
      try {
        await this.dispatch(jobs);
      } catch (err) {
        // The jobs stay active and are reclaimed after expiry: nothing is lost.
        this.log.error({ err }, 'webhook dispatch failed');
        await this.wakeups.sleep(1000);
      }
    }
  }

  private async dispatch(fetched: QueueJob<DeliverJob>[]) {
    const rows = await this.deliveryLog.load(fetched.map((j) => j.data.d));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const jobs = inSeqOrder(fetched, (job) => byId.get(job.data.d));
    const now = Date.now();
    const stale: string[] = [];
    const disabled: { job: QueueJob<DeliverJob>; row: DeliveryRow }[] = [];
    const deferred: { job: QueueJob<DeliverJob>; until: number }[] = [];
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
    await this.queue.complete(DELIVER_QUEUE, stale);
    if (disabled.length > 0 || deferred.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        await this.deliveryLog.failDisabled(
          tx,
          disabled.map((d) => d.row),
        );
        await this.queue.insertInTx(
          tx,
          DELIVER_QUEUE,
          deferred.map(({ job, until }) => this.laterJob(job, until)),
        );
        await this.queue.completeInTx(
          tx,
          DELIVER_QUEUE,
          [...disabled, ...deferred].map(({ job }) => job.id),
        );
      });
      for (const { until } of deferred) this.wakeups.wakeAt(new Date(until));
    }
  }

  /** A job replacing `job` (same generation: no attempt is counted) that starts at `until`. */
  private laterJob(job: QueueJob<DeliverJob>, until: number): JobToInsert<DeliverJob> {
    return { data: job.data, ...jobOptions(this.options.timeoutMs), startAfter: new Date(until) };
  }

  /**
   * Runs one attempt. The endpoint's slot is freed as soon as its answer is in (and its outcome
   * decided, which blocks a failing endpoint before any held job launches), not after the group
   * commit that records it: the job stays active until then, so a crash still loses nothing.
   * `inFlight` counts attempts until they are recorded, which bounds what is held in memory.
   */
  private launch(job: QueueJob<DeliverJob>, row: DeliveryRow) {
    const laneKey = laneOf(row);
    if (laneKey !== null) {
      const lane = this.lanes.get(laneKey);
      if (lane && lane.reserved !== job.id) {
        insertBySeq(lane.waiting, { job, row });
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
    this.post(row)
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
        this.wakeups.wakeNow();
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
    this.wakeups.wakeAt(new Date(blocked));
    this.db
      .transaction()
      .execute(async (tx) => {
        await this.queue.insertInTx(tx, DELIVER_QUEUE, [this.laterJob(next.job, blocked)]);
        await this.queue.completeInTx(tx, DELIVER_QUEUE, [next.job.id]);
      })
      .catch((err) => this.log.error({ err }, 'deferring a held webhook job failed; it is retried after expiry'))
      .finally(() => {
        const laneKey = laneOf(next.row);
        if (laneKey !== null && this.lanes.get(laneKey)?.reserved === next.job.id) this.advanceLane(laneKey);
        then?.();
      });
    return true;
  }

  /** Sends one attempt and records it; `jobId` is completed in the same transaction. */
  async attempt(row: DeliveryRow, jobId: string | null): Promise<AttemptOutcome> {
    return this.record(row, jobId, await this.post(row));
  }

  private post(row: DeliveryRow): Promise<AttemptResult> {
    return postWebhook(row.url, signedHeaders(row.event_id, row.payload, row.secrets), row.payload, this.options);
  }

  /**
   * Applies the policy to an attempt's result, blocking or unblocking its endpoint at once (before
   * any held job of the endpoint launches), then records it; resolves once it is committed.
   */
  private async record(row: DeliveryRow, jobId: string | null, result: AttemptResult): Promise<AttemptOutcome> {
    const now = new Date();
    const outcome = decideAttempt(result, row, this.options, now);
    if (outcome.ok) this.blockedUntil.delete(row.endpoint_id);
    else if (outcome.nextAttemptAt) this.blockedUntil.set(row.endpoint_id, outcome.nextAttemptAt.getTime());
    const moved = await this.deliveryLog.record(row, jobId, outcome, now);
    if (moved && outcome.nextAttemptAt) this.wakeups.wakeAt(outcome.nextAttemptAt);
    return outcome;
  }
}

/** A fetched job waiting in memory (still active in pg-boss) with its delivery. */
interface Held {
  job: QueueJob<DeliverJob>;
  row: DeliveryRow;
}
