import type { App } from '../platform/http.js';
import { requireAdmin } from '../platform/auth.js';
import {
  DeliverySchema,
  WebhookSchema,
  createWebhookSchema,
  deleteWebhookSchema,
  getWebhookSchema,
  listDeliveriesSchema,
  listWebhooksSchema,
  replaySchema,
  retryDeliverySchema,
  retryEndpointDeliverySchema,
  rotateSecretSchema,
  testWebhookSchema,
  updateWebhookSchema,
} from './schemas.js';
import type { WebhooksService } from './service.js';

const base = '/api/v1/partners/webhooks';

/** Webhook management for owners and admins (API tokens act as admin). */
export async function webhookRoutes(app: App, webhooks: WebhooksService) {
  app.addSchema(WebhookSchema);
  app.addSchema(DeliverySchema);
  const admin = { preHandler: async (request: Parameters<typeof requireAdmin>[0]) => requireAdmin(request) };

  app.post(base, { ...admin, schema: createWebhookSchema }, async (request) => ({
    webhook: await webhooks.create(request.partner.partnerId, request.body),
    error: null,
  }));

  app.get(base, { ...admin, schema: listWebhooksSchema }, async (request) => {
    const result = await webhooks.list(request.partner.partnerId, request.query);
    return { webhooks: result.items, next_cursor: result.next_cursor, error: null };
  });

  app.get(`${base}/:id`, { ...admin, schema: getWebhookSchema }, async (request) => ({
    webhook: webhooks.toJson(await webhooks.get(request.partner.partnerId, request.params.id)),
    error: null,
  }));

  app.patch(`${base}/:id`, { ...admin, schema: updateWebhookSchema }, async (request) => ({
    webhook: await webhooks.update(request.partner.partnerId, request.params.id, request.body),
    error: null,
  }));

  app.delete(`${base}/:id`, { ...admin, schema: deleteWebhookSchema }, async (request) => ({
    webhook: await webhooks.delete(request.partner.partnerId, request.params.id),
    error: null,
  }));

  app.post(`${base}/:id/rotate_secret`, { ...admin, schema: rotateSecretSchema }, async (request) => ({
    webhook: await webhooks.rotateSecret(request.partner.partnerId, request.params.id),
    error: null,
  }));

  app.post(`${base}/:id/test`, { ...admin, schema: testWebhookSchema }, async (request) => ({
    delivery: await webhooks.test(request.partner.partnerId, request.params.id),
    error: null,
  }));

  app.get(`${base}/:id/deliveries`, { ...admin, schema: listDeliveriesSchema }, async (request) => {
    const result = await webhooks.deliveries(request.partner.partnerId, request.params.id, request.query);
    return { deliveries: result.items, next_cursor: result.next_cursor, error: null };
  });

  app.post(`${base}/deliveries/:id/retry`, { ...admin, schema: retryDeliverySchema }, async (request) => ({
    delivery: await webhooks.retry(request.partner.partnerId, request.params.id),
    error: null,
  }));

  app.post(`${base}/:id/deliveries/:delivery_id/retry`, { ...admin, schema: retryEndpointDeliverySchema }, async (request) => ({
    delivery: await webhooks.retry(request.partner.partnerId, request.params.delivery_id, request.params.id),
    error: null,
  }));

  app.post(`${base}/:id/replay`, { ...admin, schema: replaySchema }, async (request) => ({
    replay: await webhooks.replay(request.partner.partnerId, request.params.id, request.query.since),
    error: null,
  }));
}
