import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { CSRF_COOKIE, SESSION_COOKIE, requireSession } from '../platform/auth.js';
import { AppError, notFound } from '../platform/errors.js';
import { iso, isUuid } from '../platform/http.js';
import type { Services } from '../services.js';
import {
  TokenSchema,
  UserSchema,
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
import type { AccountsService } from './service.js';

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
export async function accountRoutes(app: App, { accounts, config }: Services) {
  app.addSchema(UserSchema);
  app.addSchema(TokenSchema);
  const secure = config.PUBLIC_URL.startsWith('https://');
  const session = requireSession(accounts);

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
    reply.setCookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: expiresAt });
    reply.setCookie(CSRF_COOKIE, csrfToken, { httpOnly: false, sameSite: 'strict', secure, path: '/', expires: expiresAt });
    return csrfToken;
  }

  async function membership(request: FastifyRequest, partnerId: string, admin: boolean) {
    const user = request.sessionUser;
    if (!user || !isUuid(partnerId)) throw notFound('organization');
    const m = await accounts.repo.membership(partnerId, user.userId);
    if (!m) throw notFound('organization');
    if (admin && m.role === 'member') throw new AppError('forbidden', 'only owners and admins can manage API tokens');
    return m;
  }

  app.post('/api/v1/auth/signup', { schema: signUpSchema, config: { rateLimit: false } }, async (request, reply) => {
    const user = await accounts.signUp(request.body);
    return me(user.id, await startSession(reply, user.id));
  });

  // Login is rate-limited per address: 10 attempts a minute.
  const loginAttempts = new Map<string, { count: number; resetAt: number }>();
  app.post('/api/v1/auth/login', { schema: logInSchema }, async (request, reply) => {
    const now = Date.now();
    const entry = loginAttempts.get(request.ip);
    if (entry && entry.resetAt > now && entry.count >= 10) {
      throw new AppError('rate_limited', 'too many login attempts; wait a minute', undefined, {
        'retry-after': String(Math.ceil((entry.resetAt - now) / 1000)),
      });
    }
    if (!entry || entry.resetAt <= now) loginAttempts.set(request.ip, { count: 1, resetAt: now + 60_000 });
    else entry.count++;
    if (loginAttempts.size > 50_000) loginAttempts.clear();
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
}
