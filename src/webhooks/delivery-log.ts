import { sql } from 'kysely';
import type { Db, Tx } from '../platform/db/index.js';
import type { WebhookSecret } from '../platform/db/schema.js';
import type { Queue } from '../platform/queue.js';
import { DELIVER_QUEUE, type DeliverJob, jobOptions } from './outbox.js';
import { type AttemptOutcome, endpointHealth } from './policy.js';
import type { SecretsCodec } from './repository.js';

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

/** The default retention of the delivery log. */
export const WEBHOOK_RETENTION_DAYS = 30;
const PRUNE_BATCH = 5000;
/** Attempts recorded per transaction at most. */
const RECORD_BATCH = 200;

interface PendingRecord {
  row: DeliveryRow;
  jobId: string | null;
  outcome: AttemptOutcome;
  at: Date;
  resolve: (moved: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * The delivery worker's side of the delivery log, over all partners: loads deliveries to attempt,
 * records attempts (with their retry job and their endpoint's health) by group commit, and applies
 * the log's retention. The partner API reads the log through the repository.
 */
export class DeliveryLog {
  /** Finished attempts waiting to be recorded together in one transaction. */
  private readonly toRecord: PendingRecord[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue,
    private readonly secrets: SecretsCodec,
    private readonly timeoutMs: number,
  ) {}

  /** The deliveries with these ids, with their endpoint (secrets opened) and payload. */
  async load(deliveryIds: string[]): Promise<DeliveryRow[]> {
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

  /** Ends deliveries whose endpoint was disabled since they were queued, within `tx`. */
  async failDisabled(tx: Tx, rows: DeliveryRow[]): Promise<void> {
    for (const row of rows) {
      await tx
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', last_error: 'endpoint disabled', next_attempt_at: null, updated_at: new Date() })
        .where('id', '=', row.id)
        .where('generation', '=', row.generation)
        .execute();
    }
  }

  /**
   * Records an attempt and completes `jobId` (if any) in the same transaction, together with the
   * attempts finished meanwhile. Resolves once committed: true if the delivery moved (a stale or
   * duplicate attempt changes nothing).
   */
  record(row: DeliveryRow, jobId: string | null, outcome: AttemptOutcome, at: Date): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.toRecord.push({ row, jobId, outcome, at, resolve, reject });
      this.scheduleFlush();
    });
  }

  /** Group commit: one transaction records every attempt finished meanwhile, one flush at a time. */
  private scheduleFlush() {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        while (this.toRecord.length > 0) {
          const batch = this.toRecord.splice(0, RECORD_BATCH);
          try {
            const moved = await this.db.transaction().execute((tx) => this.recordBatch(tx, batch));
            for (const p of batch) p.resolve(moved.has(p.row.id));
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
   * Returns the deliveries that moved.
   */
  private async recordBatch(tx: Tx, batch: PendingRecord[]): Promise<Set<string>> {
    const { recovered, failing } = endpointHealth(
      batch.map((p) => ({ endpointId: p.row.endpoint_id, failingSince: p.row.failing_since, result: p.outcome.result })),
    );
    // First, the endpoints this batch updates, locked in one order (by id), before any of their
    // deliveries: two batches (two nodes) updating two endpoints in the opposite order deadlocked, and
    // so did a batch holding a delivery while an endpoint's deletion held the endpoint.
    const touched = [...new Set([...batch.filter((p) => p.outcome.disabledReason).map((p) => p.row.endpoint_id), ...recovered, ...failing])].sort();
    if (touched.length > 0) await tx.selectFrom('webhook_endpoints').select('id').where('id', 'in', touched).orderBy('id').forUpdate().execute();
    // Only for deliveries that still exist: one whose endpoint was deleted while its attempt was in
    // flight is gone (with its attempts), and its row here failed the whole batch, whose jobs were
    // then sent again, every partner's.
    const attempts = sql.join(
      batch.map(
        ({ row, outcome: { result }, at }) =>
          sql`(${row.id}::uuid, ${new Date(at.getTime() - result.latencyMs)}::timestamptz, ${result.statusCode}::int, ${result.latencyMs}::int, ${result.responseBody}::text, ${result.error}::text)`,
      ),
    );
    // `for key share`: a deletion under way is waited for, and its rows then skipped (a plain read
    // would see them, and the foreign key check fail once the deletion commits).
    await sql`insert into webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, response_body, error)
      select v.* from (values ${attempts}) as v(delivery_id, attempted_at, status_code, latency_ms, response_body, error)
      join webhook_deliveries d on d.id = v.delivery_id
      for key share of d`.execute(tx);
    const values = sql.join(
      batch.map(
        ({ row, outcome, at }) =>
          sql`(${row.id}::uuid, ${row.generation}::int, ${outcome.status}::text, ${outcome.nextAttemptAt ? row.generation + 1 : row.generation}::int, ${outcome.nextAttemptAt}::timestamptz, ${outcome.disabledReason ?? outcome.lastError}::text, ${at}::timestamptz)`,
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
    await this.queue.insertInTx<DeliverJob>(
      tx,
      DELIVER_QUEUE,
      retries.map((p) => ({ data: { d: p.row.id, g: p.row.generation + 1 }, ...jobOptions(this.timeoutMs), startAfter: p.outcome.nextAttemptAt as Date })),
    );
    const now = new Date();
    for (const p of batch) {
      if (!p.outcome.disabledReason) continue;
      await tx
        .updateTable('webhook_endpoints')
        .set({ enabled: false, disabled_reason: p.outcome.disabledReason, disabled_at: p.at, updated_at: now })
        .where('id', '=', p.row.endpoint_id)
        .execute();
    }
    if (recovered.length > 0) await tx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', 'in', recovered).execute();
    if (failing.length > 0)
      await tx.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', 'in', failing).where('failing_since', 'is', null).execute();
    await this.queue.completeInTx(
      tx,
      DELIVER_QUEUE,
      batch.flatMap((p) => (p.jobId ? [p.jobId] : [])),
    );
    return moved;
  }

  /**
   * Retention: deletes events older than `days` whose deliveries are all finished (their
   * deliveries and attempts go with them, by cascade), in bounded batches while `going()`.
   * Returns how many events.
   */
  async prune(days: number, now: Date, going: () => boolean = () => true): Promise<number> {
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
      if (n < PRUNE_BATCH || !going()) return total;
    }
  }
}
