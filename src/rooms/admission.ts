/** Admission: who may join a talk's room and as whom (join token, session host, guest, invite), bans, the guest join limit, and the recorded join. */
import { randomUUID } from 'node:crypto';
import { newSecret, sha256 } from '../accounts/credentials.js';
import type { Db } from '../platform/db/index.js';
import type { ParticipantRole, Talk } from '../platform/db/schema.js';
import { limitKey } from '../platform/address-limit.js';
import { httpUrl } from '../platform/http.js';
import type { EventSink } from '../webhooks/events.js';
import { REMOVED_MESSAGE, RoomError } from './errors.js';
import type { SessionHost } from './handoff.js';
import type { JoinMessage } from './protocol.js';
import { JoinLimit } from './join-limit.js';
import type { RoomsRepository } from './repository.js';
import type { Participant } from './room.js';

/** What a visitor sends to join (over the socket: `JoinMessage`), and where from. The server decides the role. */
export interface JoinRequest extends Omit<JoinMessage, 'type' | 'session' | 'device'> {
  /** The client's address (the proxy's X-Forwarded-For with TRUST_PROXY), for the guest join limit and bans. */
  address?: string;
  /** The browser's own random id (the talk page keeps it in localStorage), for bans of guests. */
  device?: string;
}

export interface Identity {
  role: ParticipantRole;
  name: string;
  username: string | null;
  photoUrl: string | null;
  uid: string | null;
  userId: string | null;
}

/** What a ban would match if a host removes the participant. */
export type BanKeys = Participant['banKeys'];

/** The partner-issued join token a visitor presented, as stored (undefined: no such token for this talk). */
export type JoinTokenRow = Awaited<ReturnType<RoomsRepository['joinTokenForTalk']>>;

/** A display name as shown: trimmed, inner spaces collapsed, 1 to 60 characters (null otherwise). */
export function cleanName(value: string | undefined | null): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim().replace(/\s+/g, ' ');
  return v.length >= 1 && v.length <= 60 ? v : null;
}

/**
 * What a ban of this visitor would match: their join token's hash, their browser's id (if well
 * formed), their address (an IPv6 one as its /64, as the guest join limit counts it: a client picks
 * any address in its /64, and privacy addresses change on their own).
 */
export function banKeysOf(request: JoinRequest): BanKeys {
  return {
    tokenHash: request.token ? sha256(request.token) : null,
    deviceId: typeof request.device === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(request.device) ? request.device : null,
    address: request.address ? limitKey(request.address) : null,
  };
}

/**
 * Who a visitor joins as: a join token's person and role (the caller looked the token up), a
 * partner member as host, or a listener by the name they typed (an invite, which the join spends,
 * or an `anyone` talk). Refusals are the page's RoomErrors.
 */
export function identityFor(
  talk: Pick<Talk, 'access'>,
  request: JoinRequest,
  sessionHost: SessionHost | null,
  joinToken: JoinTokenRow,
  now = Date.now(),
): Identity & { invite?: string } {
  if (request.token) {
    const row = joinToken;
    if (!row || (row.expires_at && row.expires_at.getTime() <= now)) throw new RoomError('invalid_token', 'this join link is not valid (unknown or expired)');
    return {
      role: row.role,
      name: row.name ?? cleanName(request.name) ?? 'Guest',
      username: row.username,
      photoUrl: httpUrl(row.photo_url),
      uid: row.uid,
      userId: null,
    };
  }
  if (sessionHost) {
    return {
      role: 'host',
      name: sessionHost.name,
      username: sessionHost.username,
      photoUrl: httpUrl(sessionHost.photoUrl),
      uid: null,
      userId: sessionHost.userId,
    };
  }
  const name = cleanName(request.name);
  if (!name) throw new RoomError('bad_request', 'enter a display name (1 to 60 characters)');
  const base = { role: 'listener' as const, name, username: cleanName(request.username), photoUrl: httpUrl(request.photo_url), uid: null, userId: null };
  if (request.invite) return { ...base, invite: request.invite };
  if (talk.access === 'invite_only') throw new RoomError('invite_required', 'this talk is invite only: you need an invite link');
  return base;
}

/** Decides and records who comes into a talk's room; the room itself is the caller's. */
export class Admission {
  private readonly guestJoins: JoinLimit;

  constructor(
    private readonly db: Db,
    private readonly repo: RoomsRepository,
    private readonly events: EventSink,
    guestJoinsPerMinute: number,
  ) {
    this.guestJoins = new JoinLimit(guestJoinsPerMinute);
  }

  /**
   * A new participant: identified, refused if banned or over the guest join limit, then recorded
   * (the invite spent, talk_join emitted) in one transaction. Returns their id and resume secret.
   */
  async admitNew(talk: Talk, request: JoinRequest, sessionHost: SessionHost | null, banKeys: BanKeys) {
    const joinToken = request.token ? await this.repo.joinTokenForTalk(talk.id, sha256(request.token)) : undefined;
    const identity = identityFor(talk, request, sessionHost, joinToken);
    const guest = !request.token && !identity.userId;
    const ban = await this.repo.matchingBan(talk.partner_id, talk.id, { userId: identity.userId, uid: identity.uid, guest, ...banKeys });
    if (ban) throw new RoomError('removed', REMOVED_MESSAGE);
    // Guests (no join token, not a member: a display name, perhaps an invite) are counted per
    // address. Partner-issued join links and members are not: the partner vouches for them.
    if (!request.token && !identity.userId && request.address) {
      const wait = this.guestJoins.take(request.address);
      if (wait > 0) throw new RoomError('rate_limited', `too many guests joined from your network just now: try again in ${wait} s`);
    }
    const id = randomUUID();
    const secret = newSecret(24);
    await this.db.transaction().execute(async (tx) => {
      if (identity.invite) {
        const used = await this.repo.useInvite(tx, talk.id, sha256(identity.invite), new Date());
        if (!used) throw new RoomError('invalid_invite', 'this invite link is not valid any more (expired, revoked or used up)');
      }
      await this.repo.insertParticipant(tx, talk.partner_id, talk.id, {
        id,
        user_id: identity.userId,
        uid: identity.uid,
        name: identity.name,
        username: identity.username,
        photo_url: identity.photoUrl,
        role: identity.role,
        resume_hash: sha256(secret),
        token_hash: banKeys.tokenHash,
      });
      await this.events.emit(tx, talk.partner_id, 'talk_join', {
        user_id: identity.userId,
        username: identity.username,
        photo_url: identity.photoUrl,
        name: identity.name,
        uid: identity.uid,
        talk_id: talk.id,
      });
    });
    return { id, secret, identity };
  }

  /**
   * A participant of the talk's room before this node opened it (this node before a SIGKILL and a
   * restart, or another node that died or gave the room up) comes back as themselves: same id, role
   * and name, their resume secret still good, no second talk_join, no invite spent again, not counted
   * as a new guest. Null: no such participant, or one `admittedHere` before (to the room open now:
   * left or removed since, so not again by their secret).
   */
  async resumeEarlier(
    talk: Talk,
    secret: string,
    banKeys: BanKeys,
    admittedHere: (participantId: string) => boolean,
  ): Promise<{ id: string; identity: Identity; banKeys: BanKeys } | null> {
    const row = await this.repo.participantToResume(talk.partner_id, talk.id, sha256(secret));
    if (!row || admittedHere(row.id)) return null;
    // Matched as who they are (this participant, their account, uid or link), never as a guest by
    // browser or address: a page coming back carries no join token (it drops it once joined), so a
    // host who had reloaded was taken for a guest and refused for sharing an office's address with
    // someone removed.
    // The link they came in with is theirs still (the page no longer sends it): a ban bans it too.
    const keys = { ...banKeys, tokenHash: banKeys.tokenHash ?? row.token_hash };
    const ban = await this.repo.matchingBan(talk.partner_id, talk.id, { userId: row.user_id, uid: row.uid, guest: false, participantId: row.id, ...keys });
    if (ban) throw new RoomError('removed', REMOVED_MESSAGE);
    await this.repo.markRejoined(talk.partner_id, row.id);
    return {
      id: row.id,
      identity: { role: row.role, name: row.name, username: row.username, photoUrl: row.photo_url, uid: row.uid, userId: row.user_id },
      banKeys: keys,
    };
  }
}
