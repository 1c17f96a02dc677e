import type { Db } from '../platform/db/index.js';
import type { MemberRole } from '../platform/db/schema.js';
import { AppError, notFound } from '../platform/errors.js';
import { isUuid } from '../platform/http.js';
import { newSecret, passwords, sha256 } from './credentials.js';
import type { Mailer } from './mailer.js';
import type { AccountsRepository } from './repository.js';

const RESET_MINUTES = 60;
const INVITE_DAYS = 7;

/** Password resets by link, teammate invites by link, roles and removal. */
export class TeamService {
  constructor(
    private readonly db: Db,
    private readonly repo: AccountsRepository,
    private readonly mailer: Mailer,
    private readonly publicUrl: string,
  ) {}

  /** Always succeeds from the caller's view, so that it does not reveal which emails have accounts. */
  async requestPasswordReset(email: string): Promise<void> {
    const user = await this.repo.findUserByEmail(email.trim());
    if (!user) return;
    const secret = newSecret();
    await this.repo.createPasswordReset({ id: sha256(secret), user_id: user.id, expires_at: new Date(Date.now() + RESET_MINUTES * 60_000) });
    await this.mailer.sendPasswordReset(user.email, `${this.publicUrl}/dashboard/reset-password?token=${encodeURIComponent(secret)}`);
  }

  /** Sets a new password from a reset link and ends every session of the user. */
  async resetPassword(secret: string, password: string): Promise<string> {
    const passwordHash = await passwords.hash(password);
    const row = await this.repo.consumePasswordReset(this.db, sha256(secret));
    if (!row) throw new AppError('not_found', 'this reset link is unknown, used or expired; ask for a new one', 'token');
    await this.repo.updatePassword(row.user_id, passwordHash);
    await this.repo.deleteSessionsOf(row.user_id);
    return row.user_id;
  }

  async createInvite(partnerId: string, inviterRole: MemberRole, inviterId: string, role: MemberRole) {
    if (role === 'owner' && inviterRole !== 'owner') throw new AppError('forbidden', 'only owners can invite owners', 'role');
    const secret = newSecret();
    const invite = await this.repo.createInvite(partnerId, {
      role,
      token_hash: sha256(secret),
      created_by_id: inviterId,
      expires_at: new Date(Date.now() + INVITE_DAYS * 86_400_000),
    });
    return { invite, url: `${this.publicUrl}/dashboard/invite/${secret}` };
  }

  async describeInvite(secret: string) {
    const invite = await this.repo.findOpenInviteByHash(sha256(secret));
    if (!invite) throw notFound('invite (it may be used or expired)');
    return invite;
  }

  /** Joins the user to the invite's organization with its role (an existing member keeps the higher role). */
  async acceptInvite(secret: string, userId: string) {
    return this.db.transaction().execute(async (tx) => {
      const invite = await this.repo.findOpenInviteByHash(sha256(secret), tx);
      if (!invite) throw notFound('invite (it may be used or expired)');
      const current = await this.repo.memberRole(tx, invite.partner_id, userId);
      const rank: Record<MemberRole, number> = { member: 0, admin: 1, owner: 2 };
      if (!current || rank[invite.role] > rank[current]) await this.repo.addMember(tx, invite.partner_id, userId, invite.role);
      await this.repo.markInviteAccepted(tx, invite.partner_id, invite.id, userId);
      return { id: invite.partner_id, name: invite.partner_name, role: current && rank[current] > rank[invite.role] ? current : invite.role };
    });
  }

  async revokeInvite(partnerId: string, inviteId: string) {
    if (!isUuid(inviteId)) throw notFound('invite');
    const result = await this.repo.deleteInvite(partnerId, inviteId);
    if (!result.numDeletedRows) throw notFound('invite');
  }

  /** Owners manage owners; an organization always keeps at least one owner. */
  async changeRole(partnerId: string, actorRole: MemberRole, userId: string, role: MemberRole) {
    if (!isUuid(userId)) throw notFound('member');
    return this.db.transaction().execute(async (tx) => {
      const current = await this.repo.memberRole(tx, partnerId, userId);
      if (!current) throw notFound('member');
      if ((current === 'owner' || role === 'owner') && actorRole !== 'owner')
        throw new AppError('forbidden', 'only owners can grant or take the owner role', 'role');
      if (current === 'owner' && role !== 'owner' && (await this.repo.countOwners(tx, partnerId)) <= 1) {
        throw new AppError('conflict', 'an organization needs an owner: make someone else owner first', 'role');
      }
      await this.repo.setRole(tx, partnerId, userId, role);
      return role;
    });
  }

  async removeMember(partnerId: string, actorRole: MemberRole, actorId: string, userId: string) {
    if (!isUuid(userId)) throw notFound('member');
    await this.db.transaction().execute(async (tx) => {
      const current = await this.repo.memberRole(tx, partnerId, userId);
      if (!current) throw notFound('member');
      const self = userId === actorId;
      if (!self && actorRole === 'member') throw new AppError('forbidden', 'only owners and admins can remove members');
      if (!self && current === 'owner' && actorRole !== 'owner') throw new AppError('forbidden', 'only owners can remove owners');
      if (current === 'owner' && (await this.repo.countOwners(tx, partnerId)) <= 1) {
        throw new AppError('conflict', 'an organization needs an owner: make someone else owner first');
      }
      await this.repo.removeMember(partnerId, userId, tx);
    });
  }
}
