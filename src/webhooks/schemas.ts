import { type Static, Type } from '@sinclair/typebox';
import { Nullable, PaginationQuery, envelope, errorResponses } from '../platform/http.js';

/** The events an endpoint can subscribe to (`ping` goes only to the endpoint being tested). */
export const subscribableEvents = ['talk_join', 'recording_saved', 'transcription_ready', 'next_caption'] as const;

export const EventNameSchema = Type.Union(
  subscribableEvents.map((e) => Type.Literal(e)),
  { description: 'A partner event name.' },
);

export const WebhookSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    partner_id: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    description: Nullable(Type.String()),
    disabled_reason: Nullable(Type.String({ description: 'Why the endpoint was disabled (410 Gone, or failing for too long), if it was.' })),
    disabled_at: Nullable(Type.String()),
    failing_since: Nullable(Type.String({ description: 'Start of the current run of failed attempts.' })),
    created_at: Type.String(),
    updated_at: Type.String(),
    secret: Type.Optional(Type.String({ description: 'The signing secret (whsec_...): returned once, on creation and rotation.' })),
  },
  { $id: 'Webhook' },
);
export type WebhookJson = Static<typeof WebhookSchema>;

export const AttemptSchema = Type.Object({
  attempted_at: Type.String(),
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Integer(),
  response_body: Nullable(Type.String({ description: 'The first 1 KiB of the response body.' })),
  error: Nullable(Type.String()),
});

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);

export const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    webhook_id: Type.String(),
    event_id: Type.String({ description: 'Also the webhook-id header of every attempt.' }),
    event_name: Type.String(),
    status: DeliveryStatus,
    attempt_count: Type.Integer(),
    next_attempt_at: Nullable(Type.String()),
    last_error: Nullable(Type.String()),
    created_at: Type.String(),
    updated_at: Type.String(),
    attempts: Type.Array(AttemptSchema),
  },
  { $id: 'WebhookDelivery' },
);
export type DeliveryJson = Static<typeof DeliverySchema>;

const Params = Type.Object({ id: Type.String() });
const tags = ['webhooks'];

export const CreateWebhookBody = Type.Object({
  url: Type.String({ maxLength: 2000, description: 'https URL (http only when the operator allows it).' }),
  events: Type.Optional(Type.Array(EventNameSchema, { description: 'Events to receive; default all.' })),
  enabled: Type.Optional(Type.Boolean()),
  description: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
});
export type CreateWebhookInput = Static<typeof CreateWebhookBody>;
export const UpdateWebhookBody = Type.Partial(CreateWebhookBody);
export type UpdateWebhookInput = Static<typeof UpdateWebhookBody>;

const WebhookEnvelope = envelope('webhook', Type.Ref(WebhookSchema));
const DeliveryEnvelope = envelope('delivery', Type.Ref(DeliverySchema));

export const createWebhookSchema = {
  summary: 'Register a webhook endpoint',
  tags,
  operationId: 'createWebhook',
  description: 'Returns the signing secret once. Owners and admins only.',
  body: CreateWebhookBody,
  response: { 200: WebhookEnvelope, ...errorResponses(400, 401, 403, 429) },
};
export const listWebhooksSchema = {
  summary: 'List webhook endpoints',
  tags,
  operationId: 'listWebhooks',
  querystring: Type.Object({ ...PaginationQuery }),
  response: { 200: envelope('webhooks', Type.Array(Type.Ref(WebhookSchema)), { list: true }), ...errorResponses(400, 401, 403, 429) },
};
export const getWebhookSchema = {
  summary: 'Get a webhook endpoint',
  tags,
  operationId: 'getWebhook',
  params: Params,
  response: { 200: WebhookEnvelope, ...errorResponses(401, 403, 404) },
};
export const updateWebhookSchema = {
  summary: 'Update a webhook endpoint',
  tags,
  operationId: 'updateWebhook',
  description: 'Setting enabled=true re-enables a disabled endpoint and clears its reason.',
  params: Params,
  body: UpdateWebhookBody,
  response: { 200: WebhookEnvelope, ...errorResponses(400, 401, 403, 404) },
};
export const deleteWebhookSchema = {
  summary: 'Delete a webhook endpoint',
  tags,
  operationId: 'deleteWebhook',
  params: Params,
  response: { 200: WebhookEnvelope, ...errorResponses(401, 403, 404) },
};
export const rotateSecretSchema = {
  summary: 'Rotate the signing secret',
  tags,
  operationId: 'rotateWebhookSecret',
  description: 'Returns the new secret once; the old one keeps signing too (both signatures in webhook-signature) for 24 h.',
  params: Params,
  response: { 200: WebhookEnvelope, ...errorResponses(401, 403, 404) },
};
export const testWebhookSchema = {
  summary: 'Send a ping event',
  tags,
  operationId: 'pingWebhook',
  description: 'Sends a `ping` event now and returns the delivery with its first attempt (retried on failure like any event).',
  params: Params,
  response: { 200: DeliveryEnvelope, ...errorResponses(401, 403, 404) },
};
export const listDeliveriesSchema = {
  summary: 'List deliveries of an endpoint',
  tags,
  operationId: 'listWebhookDeliveries',
  description: 'Newest first, each with its attempts.',
  params: Params,
  querystring: Type.Object({ ...PaginationQuery, status: Type.Optional(DeliveryStatus), event_name: Type.Optional(Type.String()) }),
  response: { 200: envelope('deliveries', Type.Array(Type.Ref(DeliverySchema)), { list: true }), ...errorResponses(400, 401, 403, 404) },
};
export const retryDeliverySchema = {
  summary: 'Redeliver one delivery',
  tags,
  operationId: 'retryWebhookDelivery',
  description: 'Queues a new attempt now, with a fresh retry schedule.',
  params: Params,
  response: { 200: DeliveryEnvelope, ...errorResponses(401, 403, 404, 409) },
};
export const retryEndpointDeliverySchema = {
  ...retryDeliverySchema,
  operationId: 'retryWebhookEndpointDelivery',
  description: 'The same as retryWebhookDelivery, addressed under its endpoint: 404 when the delivery is not one of that endpoint.',
  params: Type.Object({ id: Type.String(), delivery_id: Type.String() }),
};
export const replaySchema = {
  summary: 'Redeliver everything since a time',
  tags,
  operationId: 'replayWebhookEvents',
  description: 'Queues every event since `since` that the endpoint subscribes to, including ones it missed while disabled.',
  params: Params,
  querystring: Type.Object({ since: Type.String({ description: 'ISO 8601 date-time.' }) }),
  response: { 200: envelope('replay', Type.Object({ since: Type.String(), queued: Type.Integer() })), ...errorResponses(400, 401, 403, 404, 409) },
};
