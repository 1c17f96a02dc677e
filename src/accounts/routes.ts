import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../platform/http.js';
import { CSRF_COOKIE, SESSION_COOKIE, requireSession } from '../platform/auth.js';
import { AddressLimit } from '../platform/address-limit.js';
import { AppError, notFound } from '../platform/errors.js';
import { iso, isUuid } from '../platform/http.js';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import {
  TokenSchema,
  UserSchema,
  acceptInviteSchema,
  changeRoleSchema,
  createInviteSchema,
  describeInviteSchema,
  forgotPasswordSchema,
  getOrgSettingsSchema,
  updateOrgSettingsSchema,
  listInvitesSchema,
  removeMemberSchema,
  resetPasswordSchema,
  revokeInviteSchema,
  createOrgSchema,
  createTokenSchema,
  listTokensSchema,
  logInSchema,
  logOutSchema,
  meSchema,
  membersSchema,
  revokeTokenSchema,
  signUpSchema,
} from './schemas.js';
import { newSecret } from './credentials.js';
import { createMailer } from './mailer.js';
import type { AccountsService } from './service.js';
import { TeamService } from './team.js';

type TokenRow = Awaited<ReturnType<AccountsService['repo']['listTokens']>>[number];
const tokenJson = (t: TokenRow) => ({
  id: t.id,
  partner_id: t.partner_id,
  name: t.name,
  prefix: t.prefix,
  created_by_id: t.created_by_id,
  created_at: iso(t.created_at) as string,
  last_used_at: iso(t.last_used_at),
  revoked_at: iso(t.revoked_at),
});

/** Sign-up, sessions, organizations and their API tokens: what the dashboard calls. */
export async function accountRoutes(app: App, { accounts, config, db, log }: { accounts: AccountsService; config: Config; db: DatabaseHandle; log: Logger }) {
  app.addSchema(UserSchema);
  app.addSchema(TokenSchema);
  const secure = config.PUBLIC_URL.startsWith('https://');
  const session = requireSession(accounts);
  const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, log });
  const team = new TeamService(db.db, accounts.repo, mailer, config.PUBLIC_URL);

  async function me(userId: string, csrfToken: string) {
    const user = await accounts.repo.findUser(userId);
    if (!user) throw new AppError('unauthorized', 'log in first');
    const partners = (await accounts.repo.partnersOf(userId)).map((p) => ({ id: p.id, name: p.name, role: p.role }));
    return {
      user: { id: user.id, email: user.email, name: user.name, username: user.username, photo_url: user.photo_url },
      partners,
      csrf_token: csrfToken,
      error: null,
    };
  }

  async function startSession(reply: FastifyReply, userId: string) {
    const { cookie, csrfToken, expiresAt } = await accounts.startSession(userId);
    return setSessionCookies(reply, cookie, csrfToken, expiresAt);
  }

  function setSessionCookies(reply: FastifyReply, cookie: string, csrfToken: string, expiresAt: Date) {
    reply.setCookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: expiresAt });
    reply.setCookie(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'strict', secure, path: '/', expires: expiresAt });
    return csrfToken;
  }

  async function membership(request: FastifyRequest, partnerId: string, admin: boolean | string) {
    const user = request.sessionUser;
    if (!user || !isUuid(partnerId)) throw notFound('organization');
    const m = await accounts.repo.membership(partnerId, user.userId);
    if (!m) throw notFound('organization');
    if (admin && m.role === 'member') throw new AppError('forbidden', `only owners and admins can manage ${admin === true ? 'API tokens' : admin}`);
    return m;
  }

  // Per address: login, forgot-password and reset 10 a minute each (in a burst or spread); sign-up
  // SIGNUPS_PER_HOUR at once, then as many an hour. Passwords are limited per account as well (login-backoff.ts).
  const limits = { login: new AddressLimit(10), 'password reset': new AddressLimit(10), 'sign-up': new AddressLimit(config.SIGNUPS_PER_HOUR, 3_600_000) };
  function limitPerAddress(request: FastifyRequest, what: keyof typeof limits) {
    const wait = limits[what].take(request.ip);
    if (wait > 0)
      throw new AppError('rate_limited', `too many ${what} attempts from your address; retry in ${wait} s`, undefined, { 'retry-after': String(wait) });
  }

  // A known email gets the answer a new one gets (200, a session's shape and cookies), so sign-up
  // tells nobody who has an account; the owner is mailed instead. The look-alike session is random
  // and stored nowhere: the page then finds itself logged out (docs/security.md).
  app.post('/api/v1/auth/signup', { schema: signUpSchema, config: { rateLimit: false } }, async (request, reply) => {
    limitPerAddress(request, 'sign-up');
    const result = await accounts.register(request.body);
    if (result.created) return me(result.created.id, await startSession(reply, result.created.id));
    mailer
      .sendSignUpAttempt(result.existing.email, `${config.PUBLIC_URL}/dashboard/login`)
      .catch((err) => log.warn({ err }, 'could not send the sign-up attempt notice'));
    const csrfToken = setSessionCookies(reply, newSecret(), newSecret(18), new Date(Date.now() + 30 * 86_400_000));
    const { email, name, username, photo_url } = request.body;
    return {
      user: { id: randomUUID(), email, name, username: username ?? null, photo_url: photo_url ?? null },
      partners: [],
      csrf_token: csrfToken,
      error: null,
    };
  });

  app.post('/api/v1/auth/login', { schema: logInSchema }, async (request, reply) => {
    limitPerAddress(request, 'login');
    const user = await accounts.logIn(request.body.email, request.body.password);
    return me(user.id, await startSession(reply, user.id));
  });

  app.post('/api/v1/auth/logout', { schema: logOutSchema, preHandler: session }, async (request, reply) => {
    if (request.sessionUser) await accounts.endSession(request.sessionUser.sessionHash);
    reply.clearCookie(SESSION_COOKIE, { path: '/' }).clearCookie(CSRF_COOKIE, { path: '/' });
    return { ok: true, error: null };
  });

  app.get('/api/v1/auth/me', { schema: meSchema, preHandler: session }, async (request) => {
    const user = request.sessionUser!;
    return me(user.userId, user.csrfToken);
  });

  app.post('/api/v1/orgs', { schema: createOrgSchema, preHandler: session }, async (request) => {
    const partner = await accounts.createPartner(request.sessionUser!.userId, request.body.name.trim());
    return { partner: { id: partner.id, name: partner.name, role: 'owner' }, error: null };
  });

  app.get('/api/v1/orgs/:partnerId/members', { schema: membersSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, false);
    const members = await accounts.repo.members(request.params.partnerId);
    return { members: members.map((m) => ({ ...m, created_at: iso(m.created_at) as string })), error: null };
  });

  app.get('/api/v1/orgs/:partnerId/tokens', { schema: listTokensSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, true);
    return { tokens: (await accounts.repo.listTokens(request.params.partnerId)).map(tokenJson), error: null };
  });

  app.post('/api/v1/orgs/:partnerId/tokens', { schema: createTokenSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, true);
    const { token, ...row } = await accounts.createToken(request.params.partnerId, request.body.name.trim(), request.sessionUser!.userId);
    return { token: tokenJson(row), api_token: token, error: null };
  });

  app.delete('/api/v1/orgs/:partnerId/tokens/:tokenId', { schema: revokeTokenSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, true);
    const row = await accounts.revokeToken(request.params.partnerId, request.params.tokenId);
    return { token: { id: row.id, revoked_at: iso(row.revoked_at) }, error: null };
  });

  app.get('/api/v1/orgs/:partnerId/settings', { schema: getOrgSettingsSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, false);
    return { settings: { embed_origins: await accounts.repo.embedOrigins(request.params.partnerId) }, error: null };
  });

  app.put('/api/v1/orgs/:partnerId/settings', { schema: updateOrgSettingsSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, 'settings');
    // Kept as origins (scheme://host[:port], lower case), the form browsers compare with.
    const origins = [...new Set(request.body.embed_origins.map((o) => new URL(o).origin))];
    await accounts.repo.setEmbedOrigins(request.params.partnerId, origins);
    return { settings: { embed_origins: origins }, error: null };
  });

  app.post('/api/v1/auth/forgot-password', { schema: forgotPasswordSchema }, async (request) => {
    limitPerAddress(request, 'password reset');
    await team.requestPasswordReset(request.body.email);
    return { ok: true, error: null };
  });

  app.post('/api/v1/auth/reset-password', { schema: resetPasswordSchema }, async (request, reply) => {
    limitPerAddress(request, 'password reset');
    const userId = await team.resetPassword(request.body.token, request.body.password);
    return me(userId, await startSession(reply, userId));
  });

  app.get('/api/v1/orgs/:partnerId/invites', { schema: listInvitesSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, 'invites');
    const invites = await accounts.repo.pendingInvites(request.params.partnerId);
    return {
      invites: invites.map((i) => ({ id: i.id, role: i.role, created_at: iso(i.created_at) as string, expires_at: iso(i.expires_at) as string })),
      error: null,
    };
  });

  app.post('/api/v1/orgs/:partnerId/invites', { schema: createInviteSchema, preHandler: session }, async (request) => {
    const m = await membership(request, request.params.partnerId, 'invites');
    const { invite, url } = await team.createInvite(request.params.partnerId, m.role, request.sessionUser!.userId, request.body.role);
    return {
      invite: { id: invite.id, role: invite.role, created_at: iso(invite.created_at) as string, expires_at: iso(invite.expires_at) as string },
      invite_url: url,
      error: null,
    };
  });

  app.delete('/api/v1/orgs/:partnerId/invites/:inviteId', { schema: revokeInviteSchema, preHandler: session }, async (request) => {
    await membership(request, request.params.partnerId, 'invites');
    await team.revokeInvite(request.params.partnerId, request.params.inviteId);
    return { ok: true, error: null };
  });

  app.get('/api/v1/invites/:token', { schema: describeInviteSchema }, async (request) => {
    const invite = await team.describeInvite(request.params.token);
    return { invite: { partner_name: invite.partner_name, role: invite.role, expires_at: iso(invite.expires_at) as string }, error: null };
  });

  app.post('/api/v1/invites/:token/accept', { schema: acceptInviteSchema, preHandler: session }, async (request) => {
    return { partner: await team.acceptInvite(request.params.token, request.sessionUser!.userId), error: null };
  });

  app.patch('/api/v1/orgs/:partnerId/members/:userId', { schema: changeRoleSchema, preHandler: session }, async (request) => {
    const m = await membership(request, request.params.partnerId, 'roles');
    const role = await team.changeRole(request.params.partnerId, m.role, request.params.userId, request.body.role);
    return { member: { id: request.params.userId, role }, error: null };
  });

  app.delete('/api/v1/orgs/:partnerId/members/:userId', { schema: removeMemberSchema, preHandler: session }, async (request) => {
    const m = await membership(request, request.params.partnerId, false);
    await team.removeMember(request.params.partnerId, m.role, request.sessionUser!.userId, request.params.userId);
    return { ok: true, error: null };
  });
}
