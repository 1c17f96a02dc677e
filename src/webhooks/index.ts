import { Sealer } from '../platform/sealed.js';
import { FeatureNotInstalled } from '../platform/errors.js';
import type { Services } from '../services.js';
import { DeliveryLog } from './delivery-log.js';
import { DELIVER_QUEUE, Outbox } from './outbox.js';
import { SecretsCodec } from './repository.js';
import { webhookRoutes } from './routes.js';
import { WebhooksService } from './service.js';
import { DeliveryWorker } from './worker.js';

const installed = new WeakMap<Services, WebhooksService>();

/** The webhooks service of an installed app (for the CLI). */
export function webhooksOf(services: Services): WebhooksService {
  const w = installed.get(services);
  if (!w) throw new FeatureNotInstalled('webhooks');
  return w;
}

/** Installs webhooks: the outbox as `services.events`, the delivery worker, the partner routes. */
export function installWebhooks(services: Services) {
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
  installed.set(services, webhooks);
  services.events = outbox;
  services.queueNames.push(DELIVER_QUEUE);
  const deliveryWorker = worker;
  services.background.push({
    name: 'webhook-delivery',
    start: async () => {
      const sealed = await secrets.sealStored(services.db.db);
      if (sealed > 0) services.log.info({ endpoints: sealed }, 'sealed webhook signing secrets stored in the clear');
      await deliveryWorker.start();
    },
    stop: () => deliveryWorker.stop(),
  });
  services.partnerRouteExtensions.push((app) => webhookRoutes(app, webhooks));
}
