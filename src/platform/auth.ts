import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from './compare.js';
import type { MemberRole } from './db/schema.js';
import { AppError } from './errors.js';

/** Who a partner API call acts for: set on `request.partner`. */
export interface PartnerContext {
  partnerId: string;
  /** The user behind the call: the session's, or the user who created the token. */
  userId: string | null;
  tokenId: string | null;
  role: MemberRole;
  via: 'token' | 'session';
}

/** A signed-in dashboard user: set on `request.sessionUser`. */
export interface SessionUser {
  sessionHash: string;
  csrfToken: string;
  userId: string;
  email: string;
  name: string;
  username: string | null;
  photo_url: string | null;
}

/** What turns a token or a session cookie into an identity (the accounts feature implements it). */
export interface IdentityResolver {
  resolveToken(header: string | undefined): Promise<PartnerContext | null>;
  resolveSession(cookie: string | undefined): Promise<SessionUser | null>;
  resolveMembership(user: SessionUser, partnerId: string | undefined): Promise<PartnerContext | null>;
}

export const SESSION_COOKIE = 'st_session';
export const CSRF_COOKIE = 'st_csrf';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on partner routes by `requirePartner`. */
    partner: PartnerContext;
    /** Set by `loadSession` when a dashboard session cookie is valid. */
    sessionUser: SessionUser | null;
  }
}

const unsafe = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Loads the session cookie (if any) and enforces CSRF on state-changing requests that rely on it. */
export function loadSession(accounts: IdentityResolver) {
  return async (request: FastifyRequest) => {
    request.sessionUser = await accounts.resolveSession(request.cookies[SESSION_COOKIE]);
  };
}

function checkCsrf(request: FastifyRequest, user: SessionUser) {
  if (!unsafe.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !safeEqual(sent, user.csrfToken)) {
    throw new AppError('forbidden', `missing or wrong ${CSRF_HEADER} header`);
  }
}

/** A dashboard route: a logged-in user, CSRF-checked. */
export function requireSession(accounts: IdentityResolver) {
  const load = loadSession(accounts);
  return async (request: FastifyRequest) => {
    await load(request);
    if (!request.sessionUser) throw new AppError('unauthorized', 'log in first');
    checkCsrf(request, request.sessionUser);
  };
}

/**
 * Every /api/p/* and /api/v1/partners/* route: an API token in Authorization (with or
 * without `Bearer `), or a dashboard session acting for a partner named in X-Partner-Id.
 */
export function requirePartner(accounts: IdentityResolver) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (header) {
      const ctx = await accounts.resolveToken(header);
      if (!ctx) throw new AppError('unauthorized', 'the API token is unknown or revoked');
      request.partner = ctx;
      return;
    }
    const user = await accounts.resolveSession(request.cookies[SESSION_COOKIE]);
    const partnerHeader = request.headers['x-partner-id'];
    if (user) {
      const ctx = await accounts.resolveMembership(user, typeof partnerHeader === 'string' ? partnerHeader : undefined);
      if (ctx) {
        checkCsrf(request, user);
        request.sessionUser = user;
        request.partner = ctx;
        return;
      }
    }
    throw new AppError('unauthorized', 'send your API token: Authorization: Bearer <token>');
  };
}

/** Token and webhook management is for owners and admins (API tokens act as admin). */
export function requireAdmin(request: FastifyRequest) {
  if (request.partner.role === 'member') throw new AppError('forbidden', 'only owners and admins can do this');
}
