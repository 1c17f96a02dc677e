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
  operationId: 'signUp',
  security: [],
  body: Type.Object({
    email: Type.String({ format: 'email', maxLength: 320 }),
    password: Type.String({ minLength: 8, maxLength: 200 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    username: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,40}$' })),
    photo_url: Type.Optional(Type.String({ pattern: '^https?://' })),
  }),
  response: { 200: Me, ...errorResponses(400, 429) },
};

export const logInSchema = {
  summary: 'Log in',
  tags: ['account'],
  operationId: 'logIn',
  security: [],
  body: Type.Object({ email: Type.String(), password: Type.String() }),
  response: { 200: Me, ...errorResponses(400, 401, 429) },
};

export const meSchema = {
  summary: 'The logged-in user and their organizations',
  tags: ['account'],
  operationId: 'getCurrentUser',
  security: [{ session: [] }],
  response: { 200: Me, ...errorResponses(401) },
};
export const logOutSchema = {
  summary: 'Log out',
  tags: ['account'],
  operationId: 'logOut',
  security: [{ session: [] }],
  response: { 200: Type.Object({ ok: Type.Boolean(), error: Type.Null() }), ...errorResponses(401, 403) },
};

const PartnerParams = Type.Object({ partnerId: Type.String() });

export const createOrgSchema = {
  summary: 'Create a partner organization (you become its owner)',
  tags: ['account'],
  operationId: 'createOrg',
  security: [{ session: [] }],
  body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }),
  response: { 200: envelope('partner', PartnerSummary), ...errorResponses(400, 401) },
};

export const listTokensSchema = {
  summary: "List the organization's API tokens",
  tags: ['account'],
  operationId: 'listApiTokens',
  security: [{ session: [] }],
  params: PartnerParams,
  response: { 200: envelope('tokens', Type.Array(Type.Ref(TokenSchema))), ...errorResponses(401, 403, 404) },
};

export const createTokenSchema = {
  summary: 'Create an API token (shown once)',
  tags: ['account'],
  operationId: 'createApiToken',
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
  operationId: 'revokeApiToken',
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
  operationId: 'listOrgMembers',
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

const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')], {
  description: 'owner: everything, including owners; admin: everything but owners; member: talks, groups, themes and recordings, not tokens or webhooks.',
});
const Ok = Type.Object({ ok: Type.Boolean(), error: Type.Null() });

export const forgotPasswordSchema = {
  summary: 'Ask for a password reset link',
  tags: ['account'],
  operationId: 'forgotPassword',
  security: [],
  description:
    'Emails a link valid for an hour (or, without SMTP_URL, writes it to the server log for the operator). Answers the same whether or not the email has an account.',
  body: Type.Object({ email: Type.String({ minLength: 3, maxLength: 320 }) }),
  response: { 200: Ok, ...errorResponses(400, 429) },
};

export const resetPasswordSchema = {
  summary: 'Choose a new password with a reset link',
  tags: ['account'],
  operationId: 'resetPassword',
  security: [],
  description: 'Ends every other session of the account and logs this browser in.',
  body: Type.Object({ token: Type.String({ minLength: 10, maxLength: 200 }), password: Type.String({ minLength: 8, maxLength: 200 }) }),
  response: { 200: Me, ...errorResponses(400, 404, 429) },
};

const InviteSchema = Type.Object({
  id: Type.String(),
  role: Role,
  created_at: Type.String(),
  expires_at: Type.String(),
});

export const createInviteSchema = {
  summary: 'Invite a teammate by link',
  tags: ['account'],
  operationId: 'createOrgInvite',
  security: [{ session: [] }],
  description: 'Owners and admins; only owners invite owners. The link works once, for a week.',
  params: PartnerParams,
  body: Type.Object({ role: Role }),
  response: {
    200: Type.Object({ invite: InviteSchema, invite_url: Type.String({ description: 'Shown once: pass it to your teammate.' }), error: Type.Null() }),
    ...errorResponses(400, 401, 403, 404),
  },
};

export const listInvitesSchema = {
  summary: 'Pending invites',
  tags: ['account'],
  operationId: 'listOrgInvites',
  security: [{ session: [] }],
  params: PartnerParams,
  response: { 200: envelope('invites', Type.Array(InviteSchema)), ...errorResponses(401, 403, 404) },
};

export const revokeInviteSchema = {
  summary: 'Revoke a pending invite',
  tags: ['account'],
  operationId: 'revokeOrgInvite',
  security: [{ session: [] }],
  params: Type.Object({ partnerId: Type.String(), inviteId: Type.String() }),
  response: { 200: Ok, ...errorResponses(401, 403, 404) },
};

export const describeInviteSchema = {
  summary: 'What an invite link is for',
  tags: ['account'],
  operationId: 'getOrgInvite',
  security: [],
  params: Type.Object({ token: Type.String() }),
  response: {
    200: Type.Object({ invite: Type.Object({ partner_name: Type.String(), role: Role, expires_at: Type.String() }), error: Type.Null() }),
    ...errorResponses(404),
  },
};

export const acceptInviteSchema = {
  summary: 'Accept an invite (join the organization)',
  tags: ['account'],
  operationId: 'acceptOrgInvite',
  security: [{ session: [] }],
  params: Type.Object({ token: Type.String() }),
  response: { 200: envelope('partner', PartnerSummary), ...errorResponses(401, 404) },
};

export const changeRoleSchema = {
  summary: "Change a member's role",
  tags: ['account'],
  operationId: 'changeOrgMemberRole',
  security: [{ session: [] }],
  description: 'Owners and admins; only owners grant or take the owner role; the last owner stays owner.',
  params: Type.Object({ partnerId: Type.String(), userId: Type.String() }),
  body: Type.Object({ role: Role }),
  response: { 200: Type.Object({ member: Type.Object({ id: Type.String(), role: Role }), error: Type.Null() }), ...errorResponses(400, 401, 403, 404, 409) },
};

export const removeMemberSchema = {
  summary: 'Remove a member (or leave the organization)',
  tags: ['account'],
  operationId: 'removeOrgMember',
  security: [{ session: [] }],
  description: 'Owners and admins remove others (only owners remove owners); anyone may remove themselves; the last owner cannot go.',
  params: Type.Object({ partnerId: Type.String(), userId: Type.String() }),
  response: { 200: Ok, ...errorResponses(401, 403, 404, 409) },
};

const OrgSettings = Type.Object({
  embed_origins: Type.Array(Type.String({ pattern: '^https://[^/?#\\s]+/?$', maxLength: 200 }), {
    maxItems: 20,
    description:
      "https:// origins (scheme and host, no path) of the partner's own sites allowed to frame its talk pages and to open their room sockets. Empty: no site frames them.",
  }),
});

export const getOrgSettingsSchema = {
  summary: "An organization's settings",
  tags: ['account'],
  operationId: 'getOrgSettings',
  security: [{ session: [] }],
  params: Type.Object({ partnerId: Type.String() }),
  response: { 200: envelope('settings', OrgSettings), ...errorResponses(401, 404) },
};

export const updateOrgSettingsSchema = {
  summary: "Change an organization's settings",
  tags: ['account'],
  operationId: 'updateOrgSettings',
  security: [{ session: [] }],
  description: 'Owners and admins.',
  params: Type.Object({ partnerId: Type.String() }),
  body: OrgSettings,
  response: { 200: envelope('settings', OrgSettings), ...errorResponses(400, 401, 403, 404) },
};
