import { Type } from '@sinclair/typebox';
import { Nullable, envelope, errorResponses } from '../platform/http.js';

export const UserSchema = Type.Object(
  { id: Type.String(), email: Type.String(), name: Type.String(), username: Nullable(Type.String()), photo_url: Nullable(Type.String()) },
  { $id: 'User' },
);
export const PartnerSummary = Type.Object({ id: Type.String(), name: Type.String(), role: Type.String() });
export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    partner_id: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'The first characters of the token, to recognise it.' }),
    created_by_id: Nullable(Type.String()),
    created_at: Type.String(),
    last_used_at: Nullable(Type.String()),
    revoked_at: Nullable(Type.String()),
  },
  { $id: 'ApiToken' },
);

const Me = Type.Object({ user: Type.Ref(UserSchema), partners: Type.Array(PartnerSummary), csrf_token: Type.String(), error: Type.Null() });

export const signUpSchema = {
  summary: 'Sign up',
  tags: ['account'],
  security: [],
  body: Type.Object({
    email: Type.String({ format: 'email', maxLength: 320 }),
    password: Type.String({ minLength: 8, maxLength: 200 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    username: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,40}$' })),
    photo_url: Type.Optional(Type.String({ pattern: '^https?://' })),
  }),
  response: { 200: Me, ...errorResponses(400, 409) },
};

export const logInSchema = {
  summary: 'Log in',
  tags: ['account'],
  security: [],
  body: Type.Object({ email: Type.String(), password: Type.String() }),
  response: { 200: Me, ...errorResponses(400, 401, 429) },
};

export const meSchema = {
  summary: 'The logged-in user and their organizations',
  tags: ['account'],
  security: [{ session: [] }],
  response: { 200: Me, ...errorResponses(401) },
};
export const logOutSchema = {
  summary: 'Log out',
  tags: ['account'],
  security: [{ session: [] }],
  response: { 200: Type.Object({ ok: Type.Boolean(), error: Type.Null() }) },
};

const PartnerParams = Type.Object({ partnerId: Type.String() });

export const createOrgSchema = {
  summary: 'Create a partner organization (you become its owner)',
  tags: ['account'],
  security: [{ session: [] }],
  body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
  response: { 200: envelope('partner', PartnerSummary), ...errorResponses(400, 401) },
};

export const listTokensSchema = {
  summary: "List the organization's API tokens",
  tags: ['account'],
  security: [{ session: [] }],
  params: PartnerParams,
  response: { 200: envelope('tokens', Type.Array(Type.Ref(TokenSchema))), ...errorResponses(401, 403, 404) },
};

export const createTokenSchema = {
  summary: 'Create an API token (shown once)',
  tags: ['account'],
  security: [{ session: [] }],
  params: PartnerParams,
  body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
  response: {
    200: Type.Object({
      token: Type.Ref(TokenSchema),
      api_token: Type.String({ description: 'The token itself: store it now, it is never shown again.' }),
      error: Type.Null(),
    }),
    ...errorResponses(400, 401, 403, 404),
  },
};

export const revokeTokenSchema = {
  summary: 'Revoke an API token',
  tags: ['account'],
  security: [{ session: [] }],
  params: Type.Object({ partnerId: Type.String(), tokenId: Type.String() }),
  response: {
    200: Type.Object({ token: Type.Object({ id: Type.String(), revoked_at: Nullable(Type.String()) }), error: Type.Null() }),
    ...errorResponses(401, 403, 404),
  },
};

export const membersSchema = {
  summary: "The organization's members",
  tags: ['account'],
  security: [{ session: [] }],
  params: PartnerParams,
  response: {
    200: envelope(
      'members',
      Type.Array(
        Type.Object({
          id: Type.String(),
          email: Type.String(),
          name: Type.String(),
          username: Nullable(Type.String()),
          role: Type.String(),
          created_at: Type.String(),
        }),
      ),
    ),
    ...errorResponses(401, 404),
  },
};
