import type { Db, Queryable } from '../platform/db/index.js';
import type { MemberRole } from '../platform/db/schema.js';

/** Users, sessions, partners, memberships and API tokens. Token reads take the partner id first. */
export class AccountsRepository {
  constructor(private readonly db: Db) {}

  createUser(q: Queryable, user: { email: string; password_hash: string; name: string; username?: string | null; photo_url?: string | null }) {
    return (
      q
        .insertInto('users')
        // Named columns only: the caller's object may carry whatever else a client sent.
        .values({ email: user.email, password_hash: user.password_hash, name: user.name, username: user.username ?? null, photo_url: user.photo_url ?? null })
        .returningAll()
        .executeTakeFirstOrThrow()
    );
  }

  findUserByEmail(email: string) {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.fn('lower', ['email']), '=', email.toLowerCase())
      .executeTakeFirst();
  }

  findUser(userId: string) {
    return this.db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
  }

  updatePassword(userId: string, passwordHash: string) {
    return this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: new Date() }).where('id', '=', userId).execute();
  }

  createSession(session: { id: string; user_id: string; csrf_token: string; expires_at: Date }) {
    return this.db.insertInto('sessions').values(session).execute();
  }

  findSession(sessionHash: string) {
    return this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select([
        'sessions.id',
        'sessions.csrf_token',
        'sessions.expires_at',
        'users.id as user_id',
        'users.email',
        'users.name',
        'users.username',
        'users.photo_url',
      ])
      .where('sessions.id', '=', sessionHash)
      .where('sessions.expires_at', '>', new Date())
      .executeTakeFirst();
  }

  deleteSession(sessionHash: string) {
    return this.db.deleteFrom('sessions').where('id', '=', sessionHash).execute();
  }

  deleteExpiredSessions(now: Date) {
    return this.db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  }

  deleteSessionsOf(userId: string) {
    return this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  createPartner(q: Queryable, partner: { name: string; created_by_id: string | null }) {
    return q.insertInto('partners').values(partner).returningAll().executeTakeFirstOrThrow();
  }

  addMember(q: Queryable, partnerId: string, userId: string, role: MemberRole) {
    return q
      .insertInto('memberships')
      .values({ partner_id: partnerId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['partner_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  membership(partnerId: string, userId: string) {
    return this.db
      .selectFrom('memberships')
      .innerJoin('partners', 'partners.id', 'memberships.partner_id')
      .select(['partners.id', 'partners.name', 'memberships.role'])
      .where('memberships.partner_id', '=', partnerId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
  }

  partnersOf(userId: string) {
    return this.db
      .selectFrom('memberships')
      .innerJoin('partners', 'partners.id', 'memberships.partner_id')
      .select(['partners.id', 'partners.name', 'partners.created_at', 'memberships.role'])
      .where('memberships.user_id', '=', userId)
      .orderBy('partners.created_at')
      .execute();
  }

  members(partnerId: string) {
    return this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'users.name', 'users.username', 'memberships.role', 'memberships.created_at'])
      .where('memberships.partner_id', '=', partnerId)
      .orderBy('memberships.created_at')
      .execute();
  }

  removeMember(partnerId: string, userId: string, q: Queryable = this.db) {
    return q.deleteFrom('memberships').where('partner_id', '=', partnerId).where('user_id', '=', userId).executeTakeFirst();
  }

  /** The origins allowed to frame this partner's talk pages (empty when none, or no such partner). */
  async embedOrigins(partnerId: string): Promise<string[]> {
    const row = await this.db.selectFrom('partners').select('embed_origins').where('id', '=', partnerId).executeTakeFirst();
    return row?.embed_origins ?? [];
  }

  async setEmbedOrigins(partnerId: string, origins: string[]) {
    await this.db
      .updateTable('partners')
      .set({ embed_origins: JSON.stringify(origins), updated_at: new Date() })
      .where('id', '=', partnerId)
      .execute();
  }

  findPartner(partnerId: string) {
    return this.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
  }

  createToken(q: Queryable, partnerId: string, token: { name: string; prefix: string; token_hash: string; created_by_id: string | null }) {
    return q
      .insertInto('api_tokens')
      .values({ ...token, partner_id: partnerId })
      .returning(['id', 'partner_id', 'name', 'prefix', 'created_by_id', 'created_at', 'last_used_at', 'revoked_at'])
      .executeTakeFirstOrThrow();
  }

  listTokens(partnerId: string) {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'partner_id', 'name', 'prefix', 'created_by_id', 'created_at', 'last_used_at', 'revoked_at'])
      .where('partner_id', '=', partnerId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }

  revokeToken(partnerId: string, tokenId: string) {
    return this.db
      .updateTable('api_tokens')
      .set({ revoked_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', tokenId)
      .returning(['id', 'token_hash', 'revoked_at'])
      .executeTakeFirst();
  }

  /** The only token read without a partner id: it is how the partner is found. */
  findActiveTokenByHash(tokenHash: string) {
    return this.db
      .selectFrom('api_tokens')
      .select(['id', 'partner_id', 'created_by_id', 'last_used_at'])
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
  }

  touchToken(partnerId: string, tokenId: string) {
    return this.db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('partner_id', '=', partnerId).where('id', '=', tokenId).execute();
  }

  createPasswordReset(reset: { id: string; user_id: string; expires_at: Date }) {
    return this.db.insertInto('password_resets').values(reset).execute();
  }

  /** Marks an unused, unexpired reset link used; returns its user, or nothing when the link is no good. */
  consumePasswordReset(q: Queryable, resetHash: string) {
    return q
      .updateTable('password_resets')
      .set({ used_at: new Date() })
      .where('id', '=', resetHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning(['user_id'])
      .executeTakeFirst();
  }

  createInvite(partnerId: string, invite: { role: MemberRole; token_hash: string; created_by_id: string; expires_at: Date }) {
    return this.db
      .insertInto('invites')
      .values({ ...invite, partner_id: partnerId })
      .returning(['id', 'role', 'created_at', 'expires_at', 'accepted_at'])
      .executeTakeFirstOrThrow();
  }

  pendingInvites(partnerId: string) {
    return this.db
      .selectFrom('invites')
      .select(['id', 'role', 'created_at', 'expires_at', 'accepted_at'])
      .where('partner_id', '=', partnerId)
      .where('accepted_at', 'is', null)
      .where('expires_at', '>', new Date())
      .orderBy('created_at', 'desc')
      .execute();
  }

  deleteInvite(partnerId: string, inviteId: string) {
    return this.db.deleteFrom('invites').where('partner_id', '=', partnerId).where('id', '=', inviteId).where('accepted_at', 'is', null).executeTakeFirst();
  }

  /** The only invite read without a partner id: the secret in the link is how the partner is found. */
  findOpenInviteByHash(tokenHash: string, q: Queryable = this.db) {
    return q
      .selectFrom('invites')
      .innerJoin('partners', 'partners.id', 'invites.partner_id')
      .select(['invites.id', 'invites.partner_id', 'invites.role', 'invites.expires_at', 'partners.name as partner_name'])
      .where('invites.token_hash', '=', tokenHash)
      .where('invites.accepted_at', 'is', null)
      .where('invites.expires_at', '>', new Date())
      .executeTakeFirst();
  }

  markInviteAccepted(q: Queryable, partnerId: string, inviteId: string, userId: string) {
    return q
      .updateTable('invites')
      .set({ accepted_at: new Date(), accepted_by_id: userId })
      .where('partner_id', '=', partnerId)
      .where('id', '=', inviteId)
      .where('accepted_at', 'is', null)
      .executeTakeFirst();
  }

  setRole(q: Queryable, partnerId: string, userId: string, role: MemberRole) {
    return q.updateTable('memberships').set({ role }).where('partner_id', '=', partnerId).where('user_id', '=', userId).executeTakeFirst();
  }

  countOwners(q: Queryable, partnerId: string) {
    return q
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('partner_id', '=', partnerId)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  memberRole(q: Queryable, partnerId: string, userId: string) {
    return q
      .selectFrom('memberships')
      .select('role')
      .where('partner_id', '=', partnerId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
      .then((r) => r?.role);
  }
}
