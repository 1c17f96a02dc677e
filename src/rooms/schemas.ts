import { type Static, Type } from '@sinclair/typebox';
import { Nullable, envelope, errorResponses } from '../platform/http.js';

const IdParams = Type.Object({ id: Type.String({ description: 'The talk id.' }) });
const Role = Type.Union([Type.Literal('host'), Type.Literal('speaker'), Type.Literal('listener')], {
  description: 'host: moderates and speaks; speaker: on stage; listener: audience (may speak in a default room).',
});
const Expiry = Type.Optional(Nullable(Type.String({ description: 'ISO 8601 date-time after which the link stops working (default: never).' })));

export const CreateJoinTokenBody = Type.Object({
  uid: Type.Optional(Nullable(Type.String({ maxLength: 200, description: "Your own user id; it comes back in talk_join's uid." }))),
  name: Type.String({ minLength: 1, maxLength: 60, description: 'Display name in the room.' }),
  username: Type.Optional(Nullable(Type.String({ maxLength: 60 }))),
  photo_url: Type.Optional(Nullable(Type.String({ description: 'An http(s) image URL.' }))),
  role: Type.Optional(Role),
  expiry: Expiry,
});
export type CreateJoinTokenInput = Static<typeof CreateJoinTokenBody>;

export const createJoinTokenSchema = {
  summary: 'Issue a join link for one person',
  tags: ['live'],
  operationId: 'createJoinToken',
  description:
    "A personal link into the room with a role (the only way to make someone a host besides your dashboard). The token is shown once; it travels in the link's fragment so it never reaches a server log.",
  params: IdParams,
  body: CreateJoinTokenBody,
  response: {
    200: envelope('join_token', Type.Object({ token: Type.String(), join_url: Type.String(), role: Role, expires_at: Nullable(Type.String()) })),
    ...errorResponses(400, 401, 404),
  },
};

export const InviteSchema = Type.Object({
  id: Type.String(),
  talk_id: Type.String(),
  max_uses: Nullable(Type.Integer()),
  uses: Type.Integer(),
  expires_at: Nullable(Type.String()),
  revoked_at: Nullable(Type.String()),
  created_at: Type.String(),
  join_url: Type.Optional(Type.String({ description: 'Only in the answer that creates the invite.' })),
});

export const CreateInviteBody = Type.Object({
  max_uses: Type.Optional(Nullable(Type.Integer({ minimum: 1, description: '1 for a single-use invite; null or absent for unlimited.' }))),
  expiry: Expiry,
});
export type CreateInviteInput = Static<typeof CreateInviteBody>;

export const createInviteSchema = {
  summary: 'Create an invite link',
  tags: ['live'],
  operationId: 'createTalkInvite',
  params: IdParams,
  body: CreateInviteBody,
  response: { 200: envelope('invite', InviteSchema), ...errorResponses(400, 401, 404) },
};

export const listInvitesSchema = {
  summary: "List a talk's invites",
  tags: ['live'],
  operationId: 'listTalkInvites',
  params: IdParams,
  response: { 200: envelope('invites', Type.Array(InviteSchema)), ...errorResponses(401, 404) },
};

export const revokeInviteSchema = {
  summary: 'Revoke an invite',
  tags: ['live'],
  operationId: 'revokeTalkInvite',
  params: Type.Object({ id: Type.String(), invite_id: Type.String() }),
  response: { 200: envelope('invite', InviteSchema), ...errorResponses(401, 404) },
};

export const SubscriptionSchema = Type.Object({ id: Type.String(), email: Type.String(), name: Nullable(Type.String()), created_at: Type.String() });

export const listSubscriptionsSchema = {
  summary: "List a talk's subscribers",
  tags: ['live'],
  operationId: 'listTalkSubscriptions',
  params: IdParams,
  response: { 200: envelope('subscriptions', Type.Array(SubscriptionSchema)), ...errorResponses(401, 404) },
};

export const SubscribeBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  name: Type.Optional(Type.String({ maxLength: 60 })),
});

/** GET /t/:code/present: who is in the talk now, for the page before joining (no ids). */
export const presentSchema = {
  hide: true,
  params: Type.Object({ code: Type.String({ maxLength: 64 }) }),
  response: {
    200: envelope('present', Type.Array(Type.Object({ name: Type.String(), role: Type.String(), photo_url: Nullable(Type.String()) }))),
    ...errorResponses(404),
  },
} as const;
