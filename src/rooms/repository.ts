import { type Selectable, sql } from 'kysely';
import type { Queryable } from '../platform/db/index.js';
import type { ParticipantRole, TalkBansTable } from '../platform/db/schema.js';
import { isUuid } from '../platform/http.js';

/** Join tokens, talk invites, participants and subscriptions: partner id first wherever a partner reads. */
export class RoomsRepository {
  constructor(private readonly db: Queryable) {}

  insertJoinToken(
    partnerId: string,
    talkId: string,
    row: {
      token_hash: string;
      uid: string | null;
      name: string | null;
      username: string | null;
      photo_url: string | null;
      role: ParticipantRole;
      expires_at: Date | null;
    },
  ) {
    return this.db
      .insertInto('talk_join_tokens')
      .values({ ...row, partner_id: partnerId, talk_id: talkId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** By the hash of the secret a visitor presents, within the talk they opened. */
  joinTokenForTalk(talkId: string, tokenHash: string) {
    return this.db.selectFrom('talk_join_tokens').selectAll().where('talk_id', '=', talkId).where('token_hash', '=', tokenHash).executeTakeFirst();
  }

  insertInvite(partnerId: string, talkId: string, row: { token_hash: string; max_uses: number | null; expires_at: Date | null }) {
    return this.db
      .insertInto('talk_invites')
      .values({ ...row, partner_id: partnerId, talk_id: talkId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  listInvites(partnerId: string, talkId: string) {
    return this.db
      .selectFrom('talk_invites')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .orderBy('created_at', 'desc')
      .execute();
  }

  revokeInvite(partnerId: string, talkId: string, inviteId: string) {
    if (!isUuid(inviteId)) return Promise.resolve(undefined);
    return this.db
      .updateTable('talk_invites')
      .set({ revoked_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('id', '=', inviteId)
      .returningAll()
      .executeTakeFirst();
  }

  /** Uses an invite atomically: only if not revoked, not expired and under its use limit. */
  useInvite(q: Queryable, talkId: string, tokenHash: string, now: Date) {
    return q
      .updateTable('talk_invites')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('talk_id', '=', talkId)
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
      .returningAll()
      .executeTakeFirst();
  }

  /** A join, in the caller's transaction (with its talk_join event and the invite it spends). */
  async insertParticipant(
    q: Queryable,
    partnerId: string,
    talkId: string,
    row: {
      id: string;
      user_id: string | null;
      uid: string | null;
      name: string;
      username: string | null;
      photo_url: string | null;
      role: ParticipantRole;
      resume_hash: string;
      token_hash: string | null;
    },
  ): Promise<void> {
    await q
      .insertInto('talk_participants')
      .values({ ...row, partner_id: partnerId, talk_id: talkId })
      .execute();
  }

  /**
   * Who is in a talk whose room another node hosts: joined (or came back) since that node claimed the room, not
   * left, and only while the claim is fresh (a dead node's participants never marked their leaving).
   */
  presentElsewhere(partnerId: string, talkId: string, staleSeconds: number) {
    return this.db
      .selectFrom('talk_participants as p')
      .innerJoin('room_nodes as n', 'n.talk_id', 'p.talk_id')
      .select(['p.id', 'p.name', 'p.role', 'p.photo_url'])
      .where('p.partner_id', '=', partnerId)
      .where('p.talk_id', '=', talkId)
      .where('p.left_at', 'is', null)
      .where(sql<Date>`coalesce(p.rejoined_at, p.joined_at)`, '>=', sql<Date>`n.claimed_at`)
      .where('n.heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
      .orderBy('p.joined_at')
      .limit(500)
      .execute();
  }

  /** The node hosting a talk's room, while its claim is fresh (every partner's: the talk id is the key). */
  async hostOf(talkId: string, staleSeconds: number): Promise<string | null> {
    const row = await this.db
      .selectFrom('room_nodes')
      .select('node_url')
      .where('talk_id', '=', talkId)
      .where('heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${staleSeconds})`)
      .executeTakeFirst();
    return row?.node_url ?? null;
  }

  /**
   * Live talks that no node hosts (none renewed a claim within staleSeconds; with one node, none
   * at all): left live by a node that stopped or crashed. Every partner's: a sweep of the platform.
   */
  liveTalksWithoutRoom(staleSeconds: number) {
    return this.db
      .selectFrom('talks as t')
      .select(['t.id', 't.partner_id'])
      .where('t.status', '=', 'live')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('room_nodes as n')
              .select('n.talk_id')
              .whereRef('n.talk_id', '=', 't.id')
              .where('n.heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${staleSeconds})`),
          ),
        ),
      )
      .limit(1000)
      .execute();
  }

  /**
   * A participant of the talk's room as it was before this node opened it (on another node, or here
   * before a restart), by the hash of their resume secret, unless they left.
   */
  participantToResume(partnerId: string, talkId: string, resumeHash: string) {
    return this.db
      .selectFrom('talk_participants')
      .select(['id', 'role', 'name', 'username', 'photo_url', 'uid', 'user_id', 'token_hash'])
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('resume_hash', '=', resumeHash)
      .where('left_at', 'is', null)
      .executeTakeFirst();
  }

  markRejoined(partnerId: string, participantId: string) {
    return this.db
      .updateTable('talk_participants')
      .set({ rejoined_at: sql`now()` })
      .where('partner_id', '=', partnerId)
      .where('id', '=', participantId)
      .execute();
  }

  markLeft(partnerId: string, participantId: string) {
    return this.db.updateTable('talk_participants').set({ left_at: new Date() }).where('partner_id', '=', partnerId).where('id', '=', participantId).execute();
  }

  insertBan(
    partnerId: string,
    talkId: string,
    // The table's own columns (schema.ts), the ban's subject always a participant here.
    row: Pick<Selectable<TalkBansTable>, 'name' | 'user_id' | 'uid' | 'token_hash' | 'device_id' | 'address'> & { participant_id: string },
  ) {
    return this.db
      .insertInto('talk_bans')
      .values({ ...row, partner_id: partnerId, talk_id: talkId })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The bans in force on a talk, oldest first. */
  activeBans(partnerId: string, talkId: string) {
    return this.db
      .selectFrom('talk_bans')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('lifted_at', 'is', null)
      .orderBy('created_at')
      .limit(500)
      .execute();
  }

  /**
   * A ban in force on the talk matching who is joining: by member, partner uid or join token, and
   * for guests (`guest`) also by browser (device id) or address (its limitKey).
   */
  matchingBan(
    partnerId: string,
    talkId: string,
    who: {
      userId: string | null;
      uid: string | null;
      tokenHash: string | null;
      deviceId: string | null;
      address: string | null;
      guest: boolean;
      /** A participant coming back as themselves: removed as that participant. */
      participantId?: string;
    },
  ) {
    return this.db
      .selectFrom('talk_bans')
      .select(['id'])
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('lifted_at', 'is', null)
      .where((eb) => {
        const any = [];
        if (who.userId) any.push(eb('user_id', '=', who.userId));
        if (who.uid) any.push(eb('uid', '=', who.uid));
        if (who.participantId) any.push(eb('participant_id', '=', who.participantId));
        if (who.tokenHash) any.push(eb('token_hash', '=', who.tokenHash));
        if (who.guest && who.deviceId) any.push(eb('device_id', '=', who.deviceId));
        if (who.guest && who.address) any.push(eb('address', '=', who.address));
        return any.length ? eb.or(any) : eb.val(false);
      })
      .executeTakeFirst();
  }

  liftBan(partnerId: string, talkId: string, banId: string) {
    if (!isUuid(banId)) return Promise.resolve(undefined);
    return this.db
      .updateTable('talk_bans')
      .set({ lifted_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('id', '=', banId)
      .where('lifted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  insertSubscription(partnerId: string, talkId: string, email: string, name: string | null) {
    return this.db
      .insertInto('talk_subscriptions')
      .values({ partner_id: partnerId, talk_id: talkId, email, name })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  listSubscriptions(partnerId: string, talkId: string) {
    return this.db
      .selectFrom('talk_subscriptions')
      .selectAll()
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .orderBy('created_at')
      .execute();
  }

  /** The addresses of the nodes hosting rooms now (scaled mode): our own origins too. */
  async nodeUrls(): Promise<string[]> {
    const rows = await this.db.selectFrom('room_nodes').select('node_url').distinct().execute();
    return rows.map((r) => r.node_url);
  }

  /** A question asked in a talk's room (its id made by the room, so the queue need not wait for the row). */
  insertQuestion(partnerId: string, talkId: string, row: { id: string; participant_id: string; name: string; text: string; created_at: Date }) {
    return this.db
      .insertInto('talk_questions')
      .values({ ...row, status: 'open', partner_id: partnerId, talk_id: talkId })
      .execute();
  }

  setQuestionStatus(partnerId: string, talkId: string, id: string, status: 'open' | 'on_stage' | 'answered' | 'removed') {
    return this.db
      .updateTable('talk_questions')
      .set({ status, answered_at: status === 'answered' ? new Date() : null })
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('id', '=', id)
      .execute();
  }

  /** A talk's questions still shown (not removed), in the order asked. */
  questions(partnerId: string, talkId: string) {
    return this.db
      .selectFrom('talk_questions')
      .select(['id', 'participant_id', 'name', 'text', 'status', 'created_at'])
      .where('partner_id', '=', partnerId)
      .where('talk_id', '=', talkId)
      .where('status', '!=', 'removed')
      .orderBy('created_at')
      .limit(1000)
      .execute();
  }
}
