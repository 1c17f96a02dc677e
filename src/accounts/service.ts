import type { Logger } from 'pino';
import type { IdentityResolver, PartnerContext, SessionUser } from '../platform/auth.js';
import type { Db } from '../platform/db/index.js';
import { AppError, notFound } from '../platform/errors.js';
import { isUuid } from '../platform/http.js';
import { newApiToken, newSecret, passwords, sha256 } from './credentials.js';
import { LoginBackoff } from './login-backoff.js';
import { AccountsRepository } from './repository.js';

interface CachedToken {
  partnerId: string;
  tokenId: string;
  createdById: string | null;
  expiresAt: number;
}

const SESSION_DAYS = 30;

type SignUpInput = { email: string; password: string; name: string; username?: string; photo_url?: string };

export class AccountsService implements IdentityResolver {
  readonly repo: AccountsRepository;
  private readonly backoff: LoginBackoff;
  private readonly tokenCache = new Map<string, CachedToken>();
  private readonly lastTouched = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly tokenCacheSeconds: number,
  ) {
    this.repo = new AccountsRepository(db);
    this.backoff = new LoginBackoff(db);
  }

  /** Creates an account; 409 if the email has one (the CLI and tests; the sign-up route uses register). */
  async signUp(input: SignUpInput) {
    const { created } = await this.register(input);
    if (!created) throw new AppError('conflict', 'an account with this email exists; log in instead', 'email');
    return created;
  }

  /**
   * Sign-up that does not tell whether the email had an account: the password is hashed either way
   * (the same time is spent), and the caller answers alike for `existing`.
   */
  async register(input: SignUpInput) {
    const password_hash = await passwords.hash(input.password);
    const existing = await this.repo.findUserByEmail(input.email);
    if (existing) return { existing };
    // Only the profile's own fields: a client's extra keys (even `id` or `constructor`) are ignored.
    const { email, name, username, photo_url } = input;
    try {
      return { created: await this.repo.createUser(this.db, { email, name, username, photo_url, password_hash }) };
    } catch (err) {
      const raced = (err as { code?: string }).code === '23505' ? await this.repo.findUserByEmail(input.email) : undefined;
      if (raced) return { existing: raced };
      throw err;
    }
  }

  /** Checks a password, within the per-account backoff (login-backoff.ts): 429 while it must wait. */
  async logIn(email: string, password: string) {
    await this.backoff.attempt(email);
    const user = await this.repo.findUserByEmail(email);
    // Verify against a dummy hash for unknown emails too, so timing does not reveal accounts.
    const ok = await passwords.verify(user?.password_hash ?? DUMMY_HASH, password);
    if (!user || !ok) throw new AppError('unauthorized', 'email or password is wrong');
    await this.backoff.succeeded(email);
    return user;
  }

  async startSession(userId: string): Promise<{ cookie: string; csrfToken: string; expiresAt: Date }> {
    const cookie = newSecret();
    const csrfToken = newSecret(18);
    const expiresAt = new Date(Date.now() + SESSION_DAYS * 86_400_000);
    await this.repo.createSession({ id: sha256(cookie), user_id: userId, csrf_token: csrfToken, expires_at: expiresAt });
    return { cookie, csrfToken, expiresAt };
  }

  async resolveSession(cookie: string | undefined): Promise<SessionUser | null> {
    if (!cookie) return null;
    const row = await this.repo.findSession(sha256(cookie));
    if (!row) return null;
    return {
      sessionHash: row.id,
      csrfToken: row.csrf_token,
      userId: row.user_id,
      email: row.email,
      name: row.name,
      username: row.username,
      photo_url: row.photo_url,
    };
  }

  endSession(sessionHash: string) {
    return this.repo.deleteSession(sessionHash);
  }

  /** A partner organization by id, or undefined (operator commands). */
  findPartner(partnerId: string) {
    return this.repo.findPartner(partnerId);
  }

  /** A partner's API tokens (prefixes and names; never the tokens). */
  listTokens(partnerId: string) {
    return this.repo.listTokens(partnerId);
  }

  /** Whether the user belongs to the partner's organization (any role). */
  async isMember(partnerId: string, userId: string): Promise<boolean> {
    return Boolean(await this.repo.membership(partnerId, userId));
  }

  /** The sites a partner lets frame its talk pages (Content-Security-Policy frame-ancestors). */
  embedOrigins(partnerId: string): Promise<string[]> {
    return this.repo.embedOrigins(partnerId);
  }

  /** Forgets sessions past their expiry (an hourly maintenance chore). */
  async pruneExpiredSessions(now = new Date()): Promise<void> {
    await this.repo.deleteExpiredSessions(now);
  }

  /** Creates a partner organization with `userId` as its owner. */
  async createPartner(userId: string, name: string) {
    return this.db.transaction().execute(async (tx) => {
      const partner = await this.repo.createPartner(tx, { name, created_by_id: userId });
      await this.repo.addMember(tx, partner.id, userId, 'owner');
      return partner;
    });
  }

  /** Creates an API token; the clear token is in the result and nowhere else, ever. */
  async createToken(partnerId: string, name: string, createdById: string | null) {
    const { token, prefix, hash } = newApiToken();
    const row = await this.repo.createToken(this.db, partnerId, { name, prefix, token_hash: hash, created_by_id: createdById });
    return { ...row, token };
  }

  async revokeToken(partnerId: string, tokenId: string) {
    if (!isUuid(tokenId)) throw notFound('token');
    const row = await this.repo.revokeToken(partnerId, tokenId);
    if (!row) throw notFound('token');
    this.tokenCache.delete(row.token_hash); // takes effect at once on this node
    return row;
  }

  /** Resolves an `Authorization` header value (with or without `Bearer `) to a partner. */
  async resolveToken(header: string | undefined): Promise<PartnerContext | null> {
    const token = header
      ?.trim()
      .replace(/^bearer\s+/i, '')
      .trim();
    if (!token) return null;
    const hash = sha256(token);
    const now = Date.now();
    let entry = this.tokenCache.get(hash);
    if (!entry || entry.expiresAt < now) {
      const row = await this.repo.findActiveTokenByHash(hash);
      if (!row) {
        this.tokenCache.delete(hash);
        return null;
      }
      entry = { partnerId: row.partner_id, tokenId: row.id, createdById: row.created_by_id, expiresAt: now + this.tokenCacheSeconds * 1000 };
      if (this.tokenCache.size > 10_000) this.tokenCache.clear();
      this.tokenCache.set(hash, entry);
    }
    this.touch(entry.partnerId, entry.tokenId, now);
    return { partnerId: entry.partnerId, userId: entry.createdById, tokenId: entry.tokenId, role: 'admin', via: 'token' };
  }

  /** A dashboard session acting for one of its partners (X-Partner-Id). */
  async resolveMembership(user: SessionUser, partnerId: string | undefined): Promise<PartnerContext | null> {
    if (!partnerId || !isUuid(partnerId)) return null;
    const membership = await this.repo.membership(partnerId, user.userId);
    if (!membership) return null;
    return { partnerId, userId: user.userId, tokenId: null, role: membership.role, via: 'session' };
  }

  /** last_used_at, written at most once a minute per token and never on the request's path. */
  private touch(partnerId: string, tokenId: string, now: number) {
    const last = this.lastTouched.get(tokenId) ?? 0;
    if (now - last < 60_000) return;
    this.lastTouched.set(tokenId, now);
    this.repo.touchToken(partnerId, tokenId).catch((err) => this.log.warn({ err }, 'could not record token use'));
  }
}

// argon2id hash of a random password, used to spend the same time on unknown emails.
const DUMMY_HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$Jx0sYb7GJ1gPkCkM0oB5uYwN8x1mHn0oGq8t3g0l2vI';
