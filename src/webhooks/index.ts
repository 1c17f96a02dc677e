import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { Feature } from '../platform/feature.js';
import type { Queue } from '../platform/queue.js';
import { Sealer } from '../platform/sealed.js';
import type { EventSink } from './events.js';
import { DeliveryLog } from './delivery-log.js';
import { DELIVER_QUEUE, Outbox } from './outbox.js';
import { SecretsCodec } from './repository.js';
import { webhookRoutes } from './routes.js';
import { WebhooksService } from './service.js';
import { DeliveryWorker } from './worker.js';

export interface WebhooksDeps {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  queue: Queue;
}

/** What the other features use: `events`, where they emit partner events; the CLI manages endpoints through `service`. */
export interface Webhooks extends Feature {
  events: EventSink;
  service: WebhooksService;
}

/** Webhooks: the outbox (`events`), the delivery worker, the partner routes. */
export function createWebhooks(services: WebhooksDeps): Webhooks {
  const { config } = services;
  const secrets = new SecretsCodec(new Sealer(config.SECRET_KEY, 'webhook signing secrets'));
  let worker: DeliveryWorker | null = null;
  const outbox = new Outbox(services.queue, config.WEBHOOK_TIMEOUT_MS, () => worker?.nudge());
  const deliveryLog = new DeliveryLog(services.db.db, services.queue, secrets, config.WEBHOOK_TIMEOUT_MS);
  worker = new DeliveryWorker(services.db.db, services.queue, deliveryLog, services.log, {
    dbKind: services.db.kind,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_URLS,
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    schedule: config.WEBHOOK_RETRY_SCHEDULE,
    disableAfterHours: config.WEBHOOK_DISABLE_AFTER_HOURS,
  });
  const webhooks = new WebhooksService(services.db.db, outbox, worker, deliveryLog, config, secrets);
  const deliveryWorker = worker;
  return {
    name: 'webhooks',
    events: outbox,
    service: webhooks,
    queues: [DELIVER_QUEUE],
    partnerRoutes: (app) => webhookRoutes(app, webhooks),
    background: [
      {
        name: 'webhook-delivery',
        start: async () => {
          const sealed = await secrets.sealStored(services.db.db);
          if (sealed > 0) services.log.info({ endpoints: sealed }, 'sealed webhook signing secrets stored in the clear');
          await deliveryWorker.start();
        },
        stop: () => deliveryWorker.stop(),
      },
    ],
  };
}
