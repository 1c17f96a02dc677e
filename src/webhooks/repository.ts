import { sql } from 'kysely';
import type { Db, Queryable, Tx } from '../platform/db/index.js';
import type { WebhookDeliveryStatus, WebhookSecret } from '../platform/db/schema.js';
import { isUuid } from '../platform/http.js';
import { Sealer } from '../platform/sealed.js';

/**
 * Webhook rows of one partner: every method takes the partner id first. Signing secrets are
 * sealed on the way in and opened on the way out (`secrets`), so callers only see plain ones.
 */
export class WebhooksRepository {
  constructor(
    private readonly db: Db,
    private readonly secrets: SecretsCodec,
  ) {}

  async getEndpoint(partnerId: string, id: string, q: Queryable = this.db) {
    if (!isUuid(id)) return undefined;
    return this.secrets.opened(await q.selectFrom('webhook_endpoints').selectAll().where('partner_id', '=', partnerId).where('id', '=', id).executeTakeFirst());
  }

  async listEndpoints(partnerId: string, limit: number, after?: [string, string]) {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .$if(after !== undefined, (q) => q.where(sql<boolean>`(created_at, id) > (${after?.[0]}::timestamptz, ${after?.[1]}::uuid)`))
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute();
    return rows.map((r) => this.secrets.opened(r));
  }

  async insertEndpoint(partnerId: string, values: { url: string; events: string[]; enabled: boolean; description: string | null; secrets: WebhookSecret[] }) {
    return this.secrets.opened(
      await this.db
        .insertInto('webhook_endpoints')
        .values({ partner_id: partnerId, ...values, secrets: JSON.stringify(this.secrets.seal(values.secrets)) })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
  }

  async updateEndpoint(
    partnerId: string,
    id: string,
    values: Partial<{
      url: string;
      events: string[];
      enabled: boolean;
      description: string | null;
      secrets: WebhookSecret[];
      disabled_reason: null;
      disabled_at: null;
      failing_since: null;
    }>,
  ) {
    const { secrets, ...rest } = values;
    return this.secrets.opened(
      await this.db
        .updateTable('webhook_endpoints')
        .set({ ...rest, ...(secrets ? { secrets: JSON.stringify(this.secrets.seal(secrets)) } : {}), updated_at: new Date() })
        .where('partner_id', '=', partnerId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst(),
    );
  }

  async deleteEndpoint(partnerId: string, id: string) {
    return this.secrets.opened(
      await this.db.deleteFrom('webhook_endpoints').where('partner_id', '=', partnerId).where('id', '=', id).returningAll().executeTakeFirst(),
    );
  }

  async getDelivery(partnerId: string, id: string, q: Queryable = this.db) {
    if (!isUuid(id)) return undefined;
    return q.selectFrom('webhook_deliveries').selectAll().where('partner_id', '=', partnerId).where('id', '=', id).executeTakeFirst();
  }

  listDeliveries(
    partnerId: string,
    endpointId: string,
    filter: { status?: WebhookDeliveryStatus; eventName?: string; limit: number; before?: [string, string] },
  ) {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('endpoint_id', '=', endpointId)
      .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status as WebhookDeliveryStatus))
      .$if(filter.eventName !== undefined, (q) => q.where('event_name', '=', filter.eventName as string))
      .$if(filter.before !== undefined, (q) => q.where(sql<boolean>`(created_at, id) < (${filter.before?.[0]}::timestamptz, ${filter.before?.[1]}::uuid)`))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
  }

  /** Attempts of deliveries already scoped to the partner by the caller's query. */
  async attemptsOf(partnerId: string, deliveryIds: string[]) {
    if (deliveryIds.length === 0) return [];
    return this.db
      .selectFrom('webhook_attempts as a')
      .innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .select(['a.delivery_id', 'a.attempted_at', 'a.status_code', 'a.latency_ms', 'a.response_body', 'a.error'])
      .where('d.partner_id', '=', partnerId)
      .where('a.delivery_id', 'in', deliveryIds)
      .orderBy('a.id')
      .execute();
  }

  /** Puts one delivery back to pending with a fresh retry cycle; returns its new generation. */
  resetDelivery(partnerId: string, id: string, tx: Tx) {
    return tx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', cycle_attempts: 0, generation: sql`generation + 1`, next_attempt_at: new Date(), last_error: null, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', id)
      .returning(['id', 'generation'])
      .executeTakeFirst();
  }

  /** Resets every delivery of an endpoint whose event is at or after `since`. */
  resetDeliveriesSince(partnerId: string, endpointId: string, since: Date, tx: Tx) {
    return tx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', cycle_attempts: 0, generation: sql`generation + 1`, next_attempt_at: new Date(), last_error: null, updated_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('endpoint_id', '=', endpointId)
      .where('event_id', 'in', (q) => q.selectFrom('webhook_events').select('id').where('partner_id', '=', partnerId).where('created_at', '>=', since))
      .returning(['id', 'generation'])
      .execute();
  }

  /** Creates deliveries for subscribed events since `since` that the endpoint never got (e.g. while disabled). */
  createMissingDeliveries(partnerId: string, endpointId: string, events: string[], since: Date, tx: Tx) {
    return tx
      .insertInto('webhook_deliveries')
      .columns(['partner_id', 'endpoint_id', 'event_id', 'event_name', 'next_attempt_at'])
      .expression((eb) =>
        eb
          .selectFrom('webhook_events as v')
          .select([
            sql<string>`${partnerId}::uuid`.as('partner_id'),
            sql<string>`${endpointId}::uuid`.as('endpoint_id'),
            'v.id',
            'v.event_name',
            sql`now()`.as('next_attempt_at'),
          ])
          .where('v.partner_id', '=', partnerId)
          .where('v.created_at', '>=', since)
          .where('v.event_name', 'in', events.length ? events : ['-'])
          .where((w) =>
            w.not(w.exists(w.selectFrom('webhook_deliveries as d').select('d.id').where('d.endpoint_id', '=', endpointId).whereRef('d.event_id', '=', 'v.id'))),
          ),
      )
      .returning(['id', 'generation'])
      .execute();
  }
}

/** Seals and opens the `secret` of each signing secret of an endpoint row. */
export class SecretsCodec {
  constructor(private readonly sealer: Sealer) {}

  seal(secrets: WebhookSecret[]): WebhookSecret[] {
    return secrets.map((s) => (Sealer.isSealed(s.secret) ? s : { ...s, secret: this.sealer.seal(s.secret) }));
  }

  open(secrets: WebhookSecret[]): WebhookSecret[] {
    return secrets.map((s) => ({ ...s, secret: this.sealer.open(s.secret) }));
  }

  opened<T extends { secrets: WebhookSecret[] } | undefined>(row: T): T {
    return row ? { ...row, secrets: this.open(row.secrets) } : row;
  }

  /**
   * Seals every secret still stored in the clear (endpoints made before sealing existed), in
   * place; returns how many endpoints changed. Run at start-up.
   */
  async sealStored(db: Db): Promise<number> {
    const rows = await db.selectFrom('webhook_endpoints').select(['id', 'secrets']).where(sql<boolean>`secrets::text like '%"whsec%'`).execute();
    let changed = 0;
    for (const row of rows) {
      if (row.secrets.every((s) => Sealer.isSealed(s.secret))) continue;
      await db
        .updateTable('webhook_endpoints')
        .set({ secrets: JSON.stringify(this.seal(row.secrets)) })
        .where('id', '=', row.id)
        .where(sql<boolean>`secrets::text = ${JSON.stringify(row.secrets)}::jsonb::text`)
        .execute();
      changed++;
    }
    return changed;
  }
}
