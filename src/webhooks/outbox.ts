import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Tx } from '../platform/db/index.js';
import { iso } from '../platform/http.js';
import type { Queue } from '../platform/queue.js';
import type { EventName, EventSink } from './events.js';

/** The pg-boss queue of delivery attempts: one job per attempt of one (event, endpoint) delivery. */
export const DELIVER_QUEUE = 'webhook.deliver';

/** A job names a delivery and the generation it was queued for; a job of an older generation is stale. */
export interface DeliverJob {
  d: string;
  g: number;
}

/** Job options: pg-boss retries a job whose worker died (expired while active), so a crash loses nothing. */
export function jobOptions(timeoutMs: number) {
  return { retryLimit: 1000, retryDelay: 1, expireInSeconds: Math.ceil(timeoutMs / 1000) + 15 };
}

/**
 * The outbox: `emit` writes the event and one delivery per subscribed endpoint inside the
 * caller's transaction, and enqueues the first attempt of each in that same transaction.
 */
export class Outbox implements EventSink {
  constructor(
    private readonly queue: Queue,
    private readonly timeoutMs: number,
    /** Called after an emit so the local worker polls soon. */
    private readonly nudge: () => void = () => {},
  ) {}

  async emit(tx: Tx, partnerId: string, eventName: EventName, body: Record<string, unknown>): Promise<{ id: string }> {
    let eventBody = body;
    if (eventName === 'next_caption' && (body.seq === undefined || body.seq === null)) {
      eventBody = { ...body, seq: await nextTalkSeq(tx, String(body.talkId ?? body.talk_id ?? '')) };
    }
    // One statement writes the event and one delivery per subscribed, enabled endpoint.
    const { id, createdAt, payload } = this.eventRow(partnerId, eventName, eventBody);
    const deliveries = await sql<{ id: string }>`with event as (
        insert into webhook_events (id, partner_id, event_name, payload, created_at)
        values (${id}::uuid, ${partnerId}::uuid, ${eventName}::text, ${payload}::text, ${createdAt}::timestamptz)
      )
      insert into webhook_deliveries (partner_id, endpoint_id, event_id, event_name, next_attempt_at)
      select ${partnerId}::uuid, e.id, ${id}::uuid, ${eventName}::text, ${createdAt}::timestamptz
      from webhook_endpoints e
      where e.partner_id = ${partnerId}::uuid and e.enabled and e.events @> array[${eventName}]::text[]
      returning id`.execute(tx);
    await this.queueJobs(
      tx,
      deliveries.rows.map((r) => ({ d: r.id, g: 0 })),
    );
    // Only when there is something to deliver: a nudge makes the worker poll at its busy rate again,
    // and each poll is a pg-boss fetch (on PGlite, 2-4 ms holding the one connection). Every join
    // emits talk_join: with no endpoint subscribed, a burst of 100 joins caused 276 empty fetches.
    if (deliveries.rows.length > 0) this.nudge();
    return { id };
  }

  /**
   * Writes a `ping` for one endpoint and its delivery; the first attempt is queued to start after
   * `startAfter` (the caller attempts inline; the job takes over if this process dies first).
   */
  async emitPing(tx: Tx, partnerId: string, endpointId: string, startAfter: Date): Promise<{ id: string; deliveryId: string }> {
    const id = await this.writeEvent(tx, partnerId, 'ping', { webhook_id: endpointId, message: 'ping from smalltalk' });
    const row = await tx
      .insertInto('webhook_deliveries')
      .values({ partner_id: partnerId, endpoint_id: endpointId, event_id: id, event_name: 'ping', next_attempt_at: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.queueJobs(tx, [{ d: row.id, g: 0 }], startAfter);
    return { id, deliveryId: row.id };
  }

  private eventRow(partnerId: string, eventName: string, body: Record<string, unknown>) {
    const id = randomUUID();
    const createdAt = new Date();
    const payload = JSON.stringify({ event_name: eventName, body, id, created_at: iso(createdAt), partner_id: partnerId });
    return { id, createdAt, payload };
  }

  private async writeEvent(tx: Tx, partnerId: string, eventName: string, body: Record<string, unknown>): Promise<string> {
    const { id, createdAt, payload } = this.eventRow(partnerId, eventName, body);
    await tx.insertInto('webhook_events').values({ id, partner_id: partnerId, event_name: eventName, payload, created_at: createdAt }).execute();
    return id;
  }

  /** Queues attempts inside `tx`; `startAfter` delays them. */
  async queueJobs(tx: Tx, jobs: DeliverJob[], startAfter?: Date) {
    const options = jobOptions(this.timeoutMs);
    await this.queue.insertInTx(
      tx,
      DELIVER_QUEUE,
      jobs.map((data) => ({ data, ...options, ...(startAfter ? { startAfter } : {}) })),
    );
  }
}

/** The next per-talk caption sequence number, allocated in the caller's transaction (shared by captions and next_caption). */
export async function nextTalkSeq(tx: Tx, talkId: string): Promise<number> {
  const row = await tx
    .insertInto('webhook_talk_sequences')
    .values({ talk_id: talkId, seq: 1 })
    .onConflict((oc) => oc.column('talk_id').doUpdateSet({ seq: sql`webhook_talk_sequences.seq + 1` }))
    .returning('seq')
    .executeTakeFirstOrThrow();
  return Number(row.seq);
}
