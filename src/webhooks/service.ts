import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/index.js';
import type { WebhookDeliveryStatus, WebhookEndpointsTable, WebhookSecret } from '../platform/db/schema.js';
import { AppError, notFound, validation } from '../platform/errors.js';
import { decodeCursor, iso, page } from '../platform/http.js';
import type { Selectable } from 'kysely';
import type { DeliveryLog } from './delivery-log.js';
import type { DeliverJob, Outbox } from './outbox.js';
import { type SecretsCodec, WebhooksRepository } from './repository.js';
import { type CreateWebhookInput, type DeliveryJson, type UpdateWebhookInput, type WebhookJson, subscribableEvents } from './schemas.js';
import { ROTATION_OVERLAP_MS, activeSecrets, newSigningSecret } from './signing.js';
import { urlProblem } from './transport.js';
import type { DeliveryWorker } from './worker.js';

type Endpoint = Selectable<WebhookEndpointsTable>;
type DeliveryRecord = NonNullable<Awaited<ReturnType<WebhooksRepository['getDelivery']>>>;

/** Webhook endpoints, their delivery log, test pings, retries and replays. */
export class WebhooksService {
  readonly repo: WebhooksRepository;

  constructor(
    private readonly db: Db,
    private readonly outbox: Outbox,
    private readonly worker: DeliveryWorker,
    private readonly deliveryLog: DeliveryLog,
    private readonly config: Pick<Config, 'WEBHOOK_ALLOW_HTTP' | 'WEBHOOK_ALLOW_PRIVATE_URLS' | 'WEBHOOK_TIMEOUT_MS'>,
    secrets: SecretsCodec,
  ) {
    this.repo = new WebhooksRepository(db, secrets);
  }

  toJson(e: Endpoint, secret?: string): WebhookJson {
    return {
      id: e.id,
      partner_id: e.partner_id,
      url: e.url,
      events: e.events,
      enabled: e.enabled,
      description: e.description,
      disabled_reason: e.disabled_reason,
      disabled_at: iso(e.disabled_at),
      failing_since: iso(e.failing_since),
      created_at: iso(e.created_at) as string,
      updated_at: iso(e.updated_at) as string,
      ...(secret ? { secret } : {}),
    };
  }

  private checkUrl(url: string) {
    const problem = urlProblem(url, { allowHttp: this.config.WEBHOOK_ALLOW_HTTP, allowPrivate: this.config.WEBHOOK_ALLOW_PRIVATE_URLS });
    if (problem) throw validation(problem, 'url');
  }

  async create(partnerId: string, input: CreateWebhookInput) {
    this.checkUrl(input.url);
    const secret = newSigningSecret();
    const row = await this.repo.insertEndpoint(partnerId, {
      url: input.url,
      events: [...new Set(input.events ?? subscribableEvents)],
      enabled: input.enabled ?? true,
      description: input.description ?? null,
      secrets: [{ secret, created_at: new Date().toISOString(), expires_at: null }],
    });
    return this.toJson(row, secret);
  }

  async list(partnerId: string, query: { limit?: number; cursor?: string }) {
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, 2) as [string, string] | undefined;
    const rows = await this.repo.listEndpoints(partnerId, limit, after);
    const result = page(rows, limit, (r) => [r.created_at.toISOString(), r.id]);
    return { items: result.items.map((r) => this.toJson(r)), next_cursor: result.next_cursor };
  }

  async get(partnerId: string, id: string): Promise<Endpoint> {
    const row = await this.repo.getEndpoint(partnerId, id);
    if (!row) throw notFound('webhook', 'id');
    return row;
  }

  async update(partnerId: string, id: string, input: UpdateWebhookInput) {
    await this.get(partnerId, id);
    if (input.url !== undefined) this.checkUrl(input.url);
    const row = await this.repo.updateEndpoint(partnerId, id, {
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: [...new Set(input.events)] } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      ...(input.enabled === true ? { disabled_reason: null, disabled_at: null, failing_since: null } : {}),
    });
    if (!row) throw notFound('webhook', 'id');
    if (input.url !== undefined || input.enabled === true) this.worker.unblock(row.id);
    return this.toJson(row);
  }

  async delete(partnerId: string, id: string) {
    const row = await this.repo.deleteEndpoint(partnerId, (await this.get(partnerId, id)).id);
    if (!row) throw notFound('webhook', 'id');
    return this.toJson(row);
  }

  /** A new secret signs from now on; the previous ones keep signing for 24 h. */
  async rotateSecret(partnerId: string, id: string) {
    const endpoint = await this.get(partnerId, id);
    const now = Date.now();
    const until = new Date(now + ROTATION_OVERLAP_MS).toISOString();
    const kept: WebhookSecret[] = activeSecrets(endpoint.secrets, now).map((s) => ({ ...s, expires_at: s.expires_at ?? until }));
    const secret = newSigningSecret();
    const row = await this.repo.updateEndpoint(partnerId, id, { secrets: [{ secret, created_at: new Date(now).toISOString(), expires_at: null }, ...kept] });
    if (!row) throw notFound('webhook', 'id');
    return this.toJson(row, secret);
  }

  /**
   * Sends a ping now and reports the attempt. The delivery is durable like any other: a
   * safety job queued with it takes over if this process dies before recording the attempt.
   */
  async test(partnerId: string, id: string): Promise<DeliveryJson> {
    const endpoint = await this.get(partnerId, id);
    const { deliveryId } = await this.db
      .transaction()
      .execute((tx) => this.outbox.emitPing(tx, partnerId, endpoint.id, new Date(Date.now() + this.config.WEBHOOK_TIMEOUT_MS + 5000)));
    const [row] = await this.deliveryLog.load([deliveryId]);
    await this.worker.attempt(row, null);
    return this.delivery(partnerId, deliveryId);
  }

  async delivery(partnerId: string, deliveryId: string): Promise<DeliveryJson> {
    const row = await this.repo.getDelivery(partnerId, deliveryId);
    if (!row) throw notFound('delivery', 'id');
    return (await this.withAttempts(partnerId, [row]))[0];
  }

  async deliveries(partnerId: string, endpointId: string, query: { limit?: number; cursor?: string; status?: WebhookDeliveryStatus; event_name?: string }) {
    const endpoint = await this.get(partnerId, endpointId);
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, 2) as [string, string] | undefined;
    const rows = await this.repo.listDeliveries(partnerId, endpoint.id, { status: query.status, eventName: query.event_name, limit, before });
    const result = page(rows, limit, (r) => [r.created_at.toISOString(), r.id]);
    return { items: await this.withAttempts(partnerId, result.items), next_cursor: result.next_cursor };
  }

  private async withAttempts(partnerId: string, rows: DeliveryRecord[]): Promise<DeliveryJson[]> {
    const attempts = await this.repo.attemptsOf(
      partnerId,
      rows.map((r) => r.id),
    );
    return rows.map((r) => ({
      id: r.id,
      webhook_id: r.endpoint_id,
      event_id: r.event_id,
      event_name: r.event_name,
      status: r.status,
      attempt_count: r.attempt_count,
      next_attempt_at: r.status === 'pending' ? iso(r.next_attempt_at) : null,
      last_error: r.last_error,
      created_at: iso(r.created_at) as string,
      updated_at: iso(r.updated_at) as string,
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempted_at: iso(a.attempted_at) as string,
          status_code: a.status_code,
          latency_ms: a.latency_ms,
          response_body: a.response_body,
          error: a.error,
        })),
    }));
  }

  /** Applies the delivery log's retention now (it also runs hourly); returns the events deleted. */
  prune(now?: Date) {
    return this.worker.prune(now);
  }

  /** Redelivers one delivery now with a fresh retry schedule. */
  async retry(partnerId: string, deliveryId: string, endpointId?: string): Promise<DeliveryJson> {
    const existing = await this.repo.getDelivery(partnerId, deliveryId);
    if (!existing || (endpointId !== undefined && existing.endpoint_id !== endpointId)) throw notFound('delivery', 'id');
    const endpoint = await this.get(partnerId, existing.endpoint_id);
    if (!endpoint.enabled) throw new AppError('conflict', `the webhook is disabled (${endpoint.disabled_reason ?? 'by you'}): enable it first`);
    await this.db.transaction().execute(async (tx) => {
      const reset = await this.repo.resetDelivery(partnerId, deliveryId, tx);
      if (reset) await this.outbox.queueJobs(tx, [{ d: reset.id, g: reset.generation }]);
    });
    this.worker.unblock(existing.endpoint_id);
    return this.delivery(partnerId, deliveryId);
  }

  /** Redelivers every subscribed event since `since` to one endpoint. */
  async replay(partnerId: string, endpointId: string, sinceText: string) {
    const since = new Date(sinceText);
    if (Number.isNaN(since.getTime())) throw validation('since must be an ISO 8601 date-time', 'since');
    const endpoint = await this.get(partnerId, endpointId);
    if (!endpoint.enabled) throw new AppError('conflict', `the webhook is disabled (${endpoint.disabled_reason ?? 'by you'}): enable it first`);
    const queued = await this.db.transaction().execute(async (tx) => {
      const reset = await this.repo.resetDeliveriesSince(partnerId, endpoint.id, since, tx);
      const created = await this.repo.createMissingDeliveries(partnerId, endpoint.id, endpoint.events, since, tx);
      const jobs: DeliverJob[] = [...reset, ...created].map((r) => ({ d: r.id, g: r.generation }));
      for (let i = 0; i < jobs.length; i += 1000) await this.outbox.queueJobs(tx, jobs.slice(i, i + 1000));
      return jobs.length;
    });
    this.worker.unblock(endpoint.id);
    return { since: iso(since) as string, queued };
  }
}
