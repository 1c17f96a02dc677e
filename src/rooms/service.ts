import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { newSecret, sha256 } from '../accounts/credentials.js';
import { safeEqual } from '../platform/compare.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/index.js';
import type { ParticipantRole, Talk } from '../platform/db/schema.js';
import { AppError, FeatureNotInstalled } from '../platform/errors.js';
import { httpUrl } from '../platform/http.js';
import type { SfuPool } from '../sfu/pool.js';
import type { IceCandidate } from '../sfu/protocol.js';
import { streamPath } from '../talks/json.js';
import type { TalksService } from '../talks/service.js';
import type { EventSink } from '../webhooks/events.js';
import type { SessionHost } from './handoff.js';
import type { LiveTalkObserver, LiveTalks, Present, RtpTarget, SpeakerInfo } from './live.js';
import { type RoomPlacement, localPlacement } from './placement.js';
import type { MediaTier, RoomBansMessage, RoomTierMessage } from './protocol.js';
import { JoinLimit } from './join-limit.js';
import { QuestionDesk, QuestionRefused, isQuestionMessage } from './questions.js';
import { isReaction } from './reactions.js';
import { RoomsRepository } from './repository.js';
import { Participant, Room, SLOTS } from './room.js';

const UPDATE_COALESCE_MS = 50;
/** The audience tier's sockets get the stage's changes at most this often (ws costs ~12 µs a message: 10,000 sockets, 240 ms of a core a second at most). */
const STAGE_UPDATE_MS = 500;
/** A larger room's update waits this much longer per 500 participants (at most UPDATE_COALESCE_MAX_MS). */
const UPDATE_COALESCE_MAX_MS = 500;

/** What a visitor sends to join (over the socket). The server decides the role. */
export interface JoinRequest {
  name?: string;
  username?: string;
  photo_url?: string;
  token?: string;
  invite?: string;
  resume?: string;
  /** The client's address (the proxy's X-Forwarded-For with TRUST_PROXY), for the guest join limit and bans. */
  address?: string;
  /** The browser's own random id (the talk page keeps it in localStorage), for bans of guests. */
  device?: string;
}

/** The message a removed person sees, when removed and at every later join attempt. */
export const REMOVED_MESSAGE = 'The host removed you from this talk';

export interface Identity {
  role: ParticipantRole;
  name: string;
  username: string | null;
  photoUrl: string | null;
  uid: string | null;
  userId: string | null;
}

/** A room-level refusal the page shows (ended, invite required, not allowed...). */
export class RoomError extends Error {
  constructor(
    readonly code: 'ended' | 'removed' | 'invite_required' | 'invalid_token' | 'invalid_invite' | 'bad_request' | 'not_allowed' | 'not_found' | 'rate_limited',
    message: string,
  ) {
    super(message);
  }
}

/** The live rooms of every talk: the signalling side of the media plane, and the `LiveTalks` seam. */
export class LiveRooms implements LiveTalks {
  readonly continuousTaps = true;
  readonly repo: RoomsRepository;
  private readonly rooms = new Map<string, Room>();
  private readonly byParticipant = new Map<string, Room>();
  private readonly observers: LiveTalkObserver[] = [];
  private readonly levelTimer: NodeJS.Timeout;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating: Promise<void> | null = null;
  /** First joins of a talk on this node between its claim and its room opening. */
  private readonly claiming = new Map<string, number>();
  private readonly guestJoins: JoinLimit;
  /** Live talks seen with no room on any node, since when (sweepOrphans). */
  private readonly orphanedSince = new Map<string, number>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly questionDesk: QuestionDesk;
  /** closeAll has begun: joins are turned away. */
  private stopping = false;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly talks: TalksService,
    private readonly events: EventSink,
    readonly sfu: SfuPool,
    private readonly placement: RoomPlacement = localPlacement,
  ) {
    this.repo = new RoomsRepository(db);
    this.guestJoins = new JoinLimit(config.GUEST_JOINS_PER_MINUTE);
    this.questionDesk = new QuestionDesk(this.repo, log, { bringUp: (r, t) => this.bringUp(r, t), bringDown: (r, t) => this.bringDown(r, t) });
    this.levelTimer = setInterval(() => this.tickLevels(), 250);
    this.levelTimer.unref();
  }

  // ---- several nodes (placement.ts)

  async start() {
    await this.placement.start();
    const timeoutMs = this.config.EMPTY_ROOM_TIMEOUT_SECONDS * 1000;
    this.sweepTimer = setInterval(
      () => void this.sweepOrphans().catch((err) => this.log.warn({ err }, 'could not look for live talks left without a room')),
      Math.min(60_000, Math.max(500, timeoutMs / 2)),
    );
    this.sweepTimer.unref();
    if (this.placement.heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => {
        this.heartbeating ??= this.heartbeat().finally(() => {
          this.heartbeating = null;
        });
      }, this.placement.heartbeatMs);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * Renews this node's claims on its rooms; a room another node has taken over is given up here.
   * While the database cannot be reached the rooms go on (so does the talk, if the outage is
   * everyone's); if only this node was cut off, another may take a talk over meanwhile, and this
   * node gives its room up at the first renewal that gets through.
   */
  private async heartbeat() {
    try {
      const missing = await this.placement.renew([...this.rooms.keys()]);
      for (const talkId of missing) {
        // Closed meanwhile: its claim is gone with it, and must not be made again.
        if (!this.rooms.has(talkId)) continue;
        // No row (deleted by hand, or by a node that took the talk over and closed it): claiming
        // again keeps the room here, unless another node holds the talk now.
        const placed = await this.placement.claim(talkId);
        if (placed.local && !this.rooms.has(talkId)) await this.placement.release(talkId);
        if (placed.local) continue;
        this.log.warn({ talkId }, 'another node took over this live room (this node missed its heartbeats): its participants reconnect there');
        this.closeRoom(talkId, 'moved');
      }
    } catch (err) {
      this.log.warn({ err }, 'renewing the claims on live rooms failed; retrying at the next heartbeat');
    }
  }

  /**
   * One of the partner's talks changed on another node (ended, deleted or edited through its API):
   * this node's rooms of that partner re-read theirs. Null: changes may have gone unheard (the
   * LISTEN connection was down), so every room re-reads its talk.
   */
  async talksChangedElsewhere(partnerId: string | null) {
    await this.reloadTalks([...this.rooms.values()].filter((r) => partnerId === null || r.talk.partner_id === partnerId));
  }

  private async reloadTalks(rooms: Room[]) {
    if (rooms.length === 0) return;
    const talks = new Map((await this.talks.byIdsForRooms(rooms.map((r) => r.talk.id))).map((t) => [t.id, t]));
    for (const room of rooms) {
      const talk = talks.get(room.talk.id);
      if (room.closed) continue;
      if (!talk) this.closeRoom(room.talk.id, 'deleted');
      else if (talk.status === 'ended') this.closeRoom(talk.id, 'ended');
      else if (talk.updated_at.getTime() !== room.talk.updated_at.getTime()) this.applyTalk(room, talk);
    }
  }

  /**
   * A talk left live by a node that stopped or crashed, and that nobody rejoined, ends once it has
   * had no room on any node for EMPTY_ROOM_TIMEOUT_SECONDS, as an emptied room would. Otherwise its
   * status stayed `live` for good.
   */
  private async sweepOrphans() {
    const now = Date.now();
    const hostedHere = (talkId: string) => this.rooms.has(talkId) || this.claiming.has(talkId);
    const seen = new Set<string>();
    for (const talk of await this.repo.liveTalksWithoutRoom(this.placement.staleSeconds)) {
      if (hostedHere(talk.id)) continue;
      seen.add(talk.id);
      const since = this.orphanedSince.get(talk.id) ?? now;
      this.orphanedSince.set(talk.id, since);
      if (now - since < this.config.EMPTY_ROOM_TIMEOUT_SECONDS * 1000 || hostedHere(talk.id)) continue;
      this.orphanedSince.delete(talk.id);
      const ended = await this.talks.endIfLive(talk.partner_id, talk.id);
      if (ended) this.log.info({ talkId: talk.id }, 'ended a live talk that had no room on any node (left by a stopped node, nobody came back)');
    }
    for (const id of this.orphanedSince.keys()) if (!seen.has(id)) this.orphanedSince.delete(id);
  }

  /** A talk was edited on this node: its open room takes the new fields at once. */
  talkUpdated(talk: Talk) {
    const room = this.rooms.get(talk.id);
    if (room && !room.closed && talk.status !== 'ended') this.applyTalk(room, talk);
  }

  /**
   * An open room takes its talk as edited: the new times move its start and end timers; a new room
   * type seats everyone but hosts and speakers by its rule (the whole audience on stage in `default`,
   * off it in the others), their mics as on being brought up or down; the mic rule applies from the
   * next join or bring-up. Everyone is told what changed.
   */
  private applyTalk(room: Room, talk: Talk) {
    const typeChanged = talk.room_type !== room.talk.room_type;
    room.talk = talk;
    const up = talk.room_type === 'default';
    if (typeChanged) {
      for (const p of room.participants.values()) {
        // Only `hosted_events` talks have an audience tier: everyone else hears over WebRTC (refresh tells them).
        if (talk.room_type !== 'hosted_events') p.tier = 'webrtc';
        if (p.role === 'host' || p.role === 'speaker' || p.onStage === up) continue;
        p.onStage = up;
        p.muted = up ? talk.mic_behavior === 'start_off' : true;
        if (up) p.handRaisedAt = null;
      }
    }
    this.schedule(room);
    // A lobby whose start time was removed or moved into the past opens now.
    if (!room.live && room.participants.size > 0 && this.shouldBeLive(room)) void this.goLive(room);
    this.refresh(room);
  }

  // ---- LiveTalks seam

  addObserver(observer: LiveTalkObserver) {
    this.observers.push(observer);
    // A node takes joins as soon as it listens, before its background work has started: a room
    // reopened by participants back after a restart may be live before the recorder observes. It
    // hears what is live already, as it would have.
    const call = (fn: () => void | Promise<void> | undefined) => {
      try {
        Promise.resolve(fn()).catch((err) => this.log.error({ err }, 'live-talk observer failed'));
      } catch (err) {
        this.log.error({ err }, 'live-talk observer failed');
      }
    };
    for (const room of this.rooms.values()) {
      if (!room.live || room.closed || !room.sessionStartedAt) continue;
      const { talk, sessionStartedAt } = room;
      call(() => observer.talkStarted?.(talk, sessionStartedAt));
      for (const p of room.participants.values()) {
        if (p.announcedSpeaker) call(() => observer.speakerStarted?.(talk.id, this.speakerInfo(p)));
      }
    }
  }

  private speakerInfo(p: Participant): SpeakerInfo {
    return { participantId: p.id, userId: p.userId, uid: p.uid, name: p.name, username: p.username, photoUrl: p.photoUrl };
  }

  async tapSpeaker(talkId: string, participantId: string, target: RtpTarget) {
    const room = this.rooms.get(talkId);
    if (!room?.participants.has(participantId)) throw new AppError('not_found', 'no such speaker in a live room');
    return this.sfu.tap(participantId, target.port, target.payloadType);
  }

  broadcastCaption(talkId: string, caption: { seq: number; participantId: string; name: string; text: string; timestamp: string; interim?: boolean }) {
    this.rooms.get(talkId)?.broadcast({ type: 'caption', caption });
  }

  participants(talkId: string): Present[] {
    const room = this.rooms.get(talkId);
    if (!room) return [];
    return [...room.participants.values()].map((p) => ({ participantId: p.id, name: p.name, role: p.role, photoUrl: p.photoUrl }));
  }

  async present(talk: Pick<Talk, 'id' | 'partner_id'>): Promise<Present[]> {
    if (this.rooms.has(talk.id) || this.placement.heartbeatMs === 0) return this.participants(talk.id);
    // Hosted by another node: who joined since that node claimed the room and has not left.
    const rows = await this.repo.presentElsewhere(talk.partner_id, talk.id, this.placement.staleSeconds);
    return rows.map((r) => ({ participantId: r.id, name: r.name, role: r.role, photoUrl: r.photo_url }));
  }

  async hostedElsewhere(talkId: string): Promise<string | null> {
    if (this.rooms.has(talkId) || this.placement.heartbeatMs === 0) return null;
    return this.repo.hostOf(talkId, this.placement.staleSeconds);
  }

  /** Everyone observing is called; one throwing observer cannot take down the room. */
  private notify(fn: (o: LiveTalkObserver) => void | Promise<void> | undefined) {
    for (const o of this.observers) {
      try {
        Promise.resolve(fn(o)).catch((err) => this.log.error({ err }, 'live-talk observer failed'));
      } catch (err) {
        this.log.error({ err }, 'live-talk observer failed');
      }
    }
  }

  // ---- joining

  /** Checks the visitor's right to join and records the join (emitting talk_join in the same transaction). */
  async join(
    talk: Talk,
    request: JoinRequest,
    sessionHost: SessionHost | null,
    socket: WebSocket,
  ): Promise<{ room: Room; participant: Participant; resumed: boolean } | { nodeUrl: string | null }> {
    if (talk.status === 'ended') throw new RoomError('ended', 'this talk has ended');
    if (talk.end_time && talk.end_time.getTime() <= Date.now()) {
      await this.endTalk(talk);
      throw new RoomError('ended', 'this talk has ended');
    }
    // Stopping: no room opens here again (nor takes anyone back); the client tries again, elsewhere.
    if (this.stopping) return { nodeUrl: null };
    if (this.rooms.has(talk.id)) return this.joinHere(talk, request, sessionHost, socket);
    this.claiming.set(talk.id, (this.claiming.get(talk.id) ?? 0) + 1);
    try {
      const placed = await this.placement.claim(talk.id);
      if (!placed.local) return { nodeUrl: placed.nodeUrl };
      return await this.joinHere(talk, request, sessionHost, socket);
    } finally {
      const left = (this.claiming.get(talk.id) ?? 1) - 1;
      if (left > 0) this.claiming.set(talk.id, left);
      else this.claiming.delete(talk.id);
      // Refused before the room opened (a bad token, say), and no other first join under way: the
      // claim goes. (A claim another node holds is not this node's to release: release checks.)
      if (left === 0 && !this.rooms.has(talk.id)) void this.placement.release(talk.id).catch(() => undefined);
    }
  }

  private async joinHere(talk: Talk, request: JoinRequest, sessionHost: SessionHost | null, socket: WebSocket) {
    const room = this.rooms.get(talk.id);
    if (request.resume && room) {
      const p = [...room.participants.values()].find((x) => safeEqual(x.resumeSecret, request.resume as string));
      if (p && !p.closed) {
        this.attach(room, p, socket);
        return { room, participant: p, resumed: true };
      }
    }
    const banKeys = {
      tokenHash: request.token ? sha256(request.token) : null,
      deviceId: typeof request.device === 'string' && /^[A-Za-z0-9_-]{16,64}$/.test(request.device) ? request.device : null,
      address: request.address ?? null,
    };
    const resumed = request.resume ? await this.resumeFromEarlierRoom(talk, request.resume, banKeys, socket) : null;
    if (resumed) return resumed;
    const identity = await this.identify(talk, request, sessionHost);
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
      await tx
        .insertInto('talk_participants')
        .values({
          id,
          partner_id: talk.partner_id,
          talk_id: talk.id,
          user_id: identity.userId,
          uid: identity.uid,
          name: identity.name,
          username: identity.username,
          photo_url: identity.photoUrl,
          role: identity.role,
          resume_hash: sha256(secret),
        })
        .execute();
      try {
        await this.events.emit(tx, talk.partner_id, 'talk_join', {
          user_id: identity.userId,
          username: identity.username,
          photo_url: identity.photoUrl,
          name: identity.name,
          uid: identity.uid,
          talk_id: talk.id,
        });
      } catch (err) {
        // Until the webhooks feature is installed the default sink refuses; joining must still work.
        if (!(err instanceof FeatureNotInstalled)) throw err;
      }
    });
    return this.admit(talk, id, secret, identity, banKeys, socket, false);
  }

  /**
   * A participant of the talk's room before this node opened it (this node before a SIGKILL and a
   * restart, or another node that died or gave the room up) comes back as themselves: same id, role
   * and name, their resume secret still good, no second talk_join, no invite spent again, not counted
   * as a new guest. The room they come back to is a new one: on stage by their role, hands down.
   */
  private async resumeFromEarlierRoom(talk: Talk, secret: string, banKeys: Participant['banKeys'], socket: WebSocket) {
    const row = await this.repo.participantToResume(talk.partner_id, talk.id, sha256(secret));
    // Admitted to this room before (and gone since: left, removed): not again by their secret.
    if (!row || this.rooms.get(talk.id)?.admitted.has(row.id)) return null;
    const guest = !banKeys.tokenHash && !row.user_id;
    const ban = await this.repo.matchingBan(talk.partner_id, talk.id, { userId: row.user_id, uid: row.uid, guest, participantId: row.id, ...banKeys });
    if (ban) throw new RoomError('removed', REMOVED_MESSAGE);
    await this.repo.markRejoined(talk.partner_id, row.id);
    const identity: Identity = { role: row.role, name: row.name, username: row.username, photoUrl: row.photo_url, uid: row.uid, userId: row.user_id };
    return this.admit(talk, row.id, secret, identity, banKeys, socket, true);
  }

  /** Into the room (opened now if it is not yet), live if it is time. */
  private async admit(talk: Talk, id: string, secret: string, identity: Identity, banKeys: Participant['banKeys'], socket: WebSocket, resumed: boolean) {
    const current = this.openRoom(talk);
    await this.questionDesk.load(current);
    // Two sockets resuming the same participant at once: the later one takes over the first's place.
    const already = current.participants.get(id);
    if (already && !already.closed) {
      this.attach(current, already, socket);
      return { room: current, participant: already, resumed: true };
    }
    const p = new Participant(id, secret, identity.role, identity.name, identity.username, identity.photoUrl, identity.uid, identity.userId, current.talk);
    p.banKeys = banKeys;
    p.tier = this.listeningTier(current, p);
    current.participants.set(p.id, p);
    current.admitted.add(p.id);
    this.byParticipant.set(p.id, current);
    if (current.emptyTimer) {
      clearTimeout(current.emptyTimer);
      current.emptyTimer = null;
    }
    this.attach(current, p, socket);
    if (!current.live && this.shouldBeLive(current)) await this.goLive(current);
    return { room: current, participant: p, resumed };
  }

  private async identify(talk: Talk, request: JoinRequest, sessionHost: SessionHost | null): Promise<Identity & { invite?: string }> {
    if (request.token) {
      const row = await this.repo.joinTokenForTalk(talk.id, sha256(request.token));
      if (!row || (row.expires_at && row.expires_at.getTime() <= Date.now()))
        throw new RoomError('invalid_token', 'this join link is not valid (unknown or expired)');
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

  private attach(_room: Room, p: Participant, socket: WebSocket) {
    if (p.graceTimer) {
      clearTimeout(p.graceTimer);
      p.graceTimer = null;
    }
    if (p.socket && p.socket !== socket) p.socket.close(4001, 'replaced by a new connection');
    p.socket = socket;
  }

  private openRoom(talk: Talk): Room {
    let room = this.rooms.get(talk.id);
    if (room) return room;
    room = new Room(talk);
    this.rooms.set(talk.id, room);
    this.schedule(room);
    return room;
  }

  /**
   * Arms the room's start and end timers from its talk's times (again after every edit). A timer
   * that fires reads the times again: setTimeout waits at most 24.8 days, and an edit may have
   * moved them.
   */
  private schedule(room: Room) {
    for (const t of [room.startTimer, room.endTimer]) if (t) clearTimeout(t);
    room.startTimer = room.endTimer = null;
    const { start_time: start, end_time: end } = room.talk;
    const wait = (at: Date) => Math.min(Math.max(0, at.getTime() - Date.now()), 2 ** 31 - 1);
    if (!room.live && start && start.getTime() > Date.now()) {
      room.startTimer = setTimeout(() => (this.shouldBeLive(room) ? void this.goLive(room) : this.schedule(room)), wait(start));
    }
    if (end) {
      room.endTimer = setTimeout(() => {
        const due = room.talk.end_time;
        if (due && due.getTime() <= Date.now()) void this.endTalk(room.talk);
        else this.schedule(room);
      }, wait(end));
    }
  }

  private shouldBeLive(room: Room) {
    return !room.talk.start_time || room.talk.start_time.getTime() <= Date.now();
  }

  /** The session starts: past the start time, or a host started early. */
  async goLive(room: Room) {
    if (room.live || room.closed) return;
    room.live = true;
    room.sessionStartedAt = new Date();
    if (room.startTimer) clearTimeout(room.startTimer);
    const updated = await this.db
      .updateTable('talks')
      .set({ status: 'live', started_at: room.talk.started_at ?? room.sessionStartedAt, updated_at: new Date() })
      .where('partner_id', '=', room.talk.partner_id)
      .where('id', '=', room.talk.id)
      .where('status', '!=', 'ended')
      .returningAll()
      .executeTakeFirst();
    if (updated) {
      room.talk = updated;
      this.talks.changed(updated.partner_id);
    }
    const talk = room.talk;
    const at = room.sessionStartedAt;
    this.notify((o) => o.talkStarted?.(talk, at));
    this.refresh(room);
  }

  /** Ends the talk through the talks service (its listener then closes the room). */
  async endTalk(talk: Talk) {
    try {
      await this.talks.end(talk.partner_id, talk.id);
    } catch (err) {
      this.log.warn({ err, talkId: talk.id }, 'could not end the talk');
      this.closeRoom(talk.id, 'ended');
    }
  }

  /**
   * Closes a room and everything in it (idempotent). The talk goes on after `moved` (another node
   * took it over: this one missed its heartbeats) and `shutdown` (this node stops): the pages
   * reconnect, to the node that hosts the talk now or to this one once it is back.
   */
  closeRoom(talkId: string, reason: 'ended' | 'deleted' | 'moved' | 'shutdown') {
    const room = this.rooms.get(talkId);
    if (!room || room.closed) return;
    room.closed = true;
    this.rooms.delete(talkId);
    for (const t of [room.emptyTimer, room.startTimer, room.endTimer, room.updateTimer, room.stageTimer]) if (t) clearTimeout(t);
    const goesOn = reason === 'moved' || reason === 'shutdown';
    if (!goesOn) room.broadcast({ type: 'ended', reason });
    for (const p of room.participants.values()) {
      this.stopSpeaking(room, p);
      p.closed = true;
      if (p.graceTimer) clearTimeout(p.graceTimer);
      this.byParticipant.delete(p.id);
      // The talk goes on: they come back as themselves (their row stays, not left), where it is hosted next.
      if (goesOn) p.socket?.close(4004, reason === 'moved' ? 'the room moved to another node: reconnect' : 'the server is restarting: reconnect');
      else {
        p.socket?.close(4000, 'the talk has ended');
        void this.repo.markLeft(room.talk.partner_id, p.id).catch(() => undefined);
      }
    }
    room.participants.clear();
    this.sfu.closeTalk(talkId);
    // Moved: the claim is another node's now. Shutdown: closeAll releases every claim at once.
    if (!goesOn) void this.placement.release(talkId).catch((err) => this.log.warn({ err, talkId }, 'could not release the room'));
    if (room.live) this.notify((o) => o.talkStopped?.(talkId));
  }

  async closeAll() {
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    // A renewal under way could claim again what the closes below release.
    await this.heartbeating;
    // The claims (and this node's liveness) go first: the pages the closes below send away find
    // their talks free on the node they reach next, not held by a node that is going.
    await this.placement.releaseAll().catch((err) => this.log.warn({ err }, 'could not release the live rooms'));
    for (const id of [...this.rooms.keys()]) this.closeRoom(id, 'shutdown');
    clearInterval(this.levelTimer);
  }

  // ---- while in the room

  /** The socket dropped: keep the participant for the grace period, drop their media now. */
  disconnected(p: Participant, socket: WebSocket) {
    if (p.socket !== socket || p.closed) return;
    p.socket = null;
    const room = this.byParticipant.get(p.id);
    if (!room) return;
    this.dropMedia(room, p);
    p.graceTimer = setTimeout(() => this.leave(room, p), this.config.RECONNECT_GRACE_SECONDS * 1000);
    this.refresh(room);
  }

  leave(room: Room, p: Participant) {
    if (p.closed) return;
    this.dropMedia(room, p);
    p.closed = true;
    if (p.graceTimer) clearTimeout(p.graceTimer);
    room.participants.delete(p.id);
    this.byParticipant.delete(p.id);
    room.reactions.forget(p.id);
    this.questionDesk.leftStage(room, p);
    void this.repo.markLeft(room.talk.partner_id, p.id).catch(() => undefined);
    if (room.participants.size === 0 && !room.closed) {
      room.emptyTimer = setTimeout(() => void this.endTalk(room.talk), this.config.EMPTY_ROOM_TIMEOUT_SECONDS * 1000);
    }
    this.refresh(room);
  }

  private dropMedia(room: Room, p: Participant) {
    this.stopSpeaking(room, p);
    if (p.hasMedia) {
      p.hasMedia = false;
      this.sfu.close(p.id);
    }
  }

  private stopSpeaking(room: Room, p: Participant) {
    if (!p.announcedSpeaker) return;
    p.announcedSpeaker = false;
    const talkId = room.talk.id;
    this.notify((o) => o.speakerStopped?.(talkId, p.id));
  }

  /** What the talk's live room has broadcast to its sockets so far (null when it has no room). */
  traffic(talkId: string): { messages: number; bytes: number } | null {
    const room = this.rooms.get(talkId);
    return room ? { ...room.sent } : null;
  }

  /** After any change: tell the workers who may publish and who is in which slot; tell everyone what changed. */
  refresh(room: Room) {
    if (room.closed) return;
    for (const p of room.participants.values()) {
      // On stage (brought up, or the room type changed): heard by everyone, so on WebRTC.
      if (p.canSpeak && p.tier === 'audience') p.tier = 'webrtc';
      if (p.socket && p.shownTier !== this.tierKey(room, p)) {
        const wasOnStream = p.shownTier?.startsWith('audience');
        p.send(this.tierMessage(room, p));
        // The other tier sees the room another way (the whole room, or the stage): start it afresh.
        if (wasOnStream !== undefined && wasOnStream !== p.onStream) room.sendState(p);
      }
      if (!p.hasMedia) continue;
      const publishing = room.publishing(p);
      this.sfu.setPublish(p.id, publishing);
      if (room.live && p.canSpeak && !p.muted && !p.announcedSpeaker) {
        p.announcedSpeaker = true;
        const info = this.speakerInfo(p);
        const talkId = room.talk.id;
        this.notify((o) => o.speakerStarted?.(talkId, info));
      } else if (!p.canSpeak) this.stopSpeaking(room, p);
    }
    room.assignSlots();
    this.sfu.setSlots(room.talk.id, room.slots, [...room.participants.keys()]);
    this.scheduleUpdate(room);
  }

  /**
   * What changed goes to everyone at most every UPDATE_COALESCE_MS (a burst of joins becomes one
   * update of a few participants), and less often in a very large room, where working out what
   * changed costs a pass over everyone. A full state goes only to the one who joins or resumes:
   * before updates, every join sent all n participants to all n sockets (measured in a room of 100:
   * about 2 MB of JSON per join, which the bench's listeners spent seconds parsing).
   */
  private scheduleUpdate(room: Room) {
    if (room.closed) return;
    if (!room.stageTimer) {
      // The audience tier: what changed on the stage, and the counts, batched for its (many) sockets.
      room.stageTimer = setTimeout(() => {
        room.stageTimer = null;
        const update = room.closed || !room.hasAudience() ? null : room.stageUpdate();
        if (update) room.broadcastToTier(update, 'audience');
      }, STAGE_UPDATE_MS);
    }
    if (room.updateTimer) return;
    const delay = Math.min(UPDATE_COALESCE_MAX_MS, UPDATE_COALESCE_MS * Math.max(1, Math.ceil(room.participants.size / 500)));
    room.updateTimer = setTimeout(() => {
      room.updateTimer = null;
      const update = room.closed ? null : room.update();
      if (update) room.broadcastToTier(update, 'webrtc');
    }, delay);
  }

  async offer(room: Room, p: Participant, sdp: string): Promise<string> {
    if (p.tier === 'audience') throw new RoomError('not_allowed', 'you listen through the stream: no peer connection is taken from you now');
    let answer: string;
    try {
      answer = await this.sfu.answer(room.talk.id, p.id, sdp, room.publishing(p));
    } catch (err) {
      // The worker drops an offer whose participant left, or whose talk closed, while it waited
      // for a negotiation turn: an answer to that, not a failure of ours.
      if (room.closed) throw new RoomError('ended', 'this talk has ended');
      if (p.closed) throw new RoomError('bad_request', 'you left this talk');
      throw err;
    }
    p.hasMedia = true;
    if (p.onStream) {
      // Brought down to the stream while the worker answered.
      this.dropMedia(room, p);
      throw new RoomError('not_allowed', 'you listen through the stream: no peer connection is taken from you now');
    }
    this.refresh(room);
    return answer;
  }

  /** A candidate the client gathered after sending its offer (trickle ICE). */
  candidate(p: Participant, candidate: IceCandidate) {
    if (p.hasMedia) this.sfu.addCandidate(p.id, candidate);
  }

  onLevels(levels: [string, number][]) {
    for (const [id, level] of levels) {
      const room = this.byParticipant.get(id);
      const p = room?.participants.get(id);
      if (p) p.level = level;
    }
  }

  private tickLevels() {
    for (const room of this.rooms.values()) {
      // Only who is audible: everyone missing is silent (the page reads a missing level as 0).
      const levels: Record<string, number> = {};
      let any = false;
      for (const p of room.participants.values()) {
        if (!room.publishing(p) || p.level <= 0.01) continue;
        levels[p.id] = p.level;
        any = true;
      }
      if (room.assignSlots()) {
        this.sfu.setSlots(room.talk.id, room.slots, [...room.participants.keys()]);
        room.broadcast({ type: 'slots', slots: room.slots });
      }
      if (any || room.levelsShown) room.broadcast({ type: 'levels', levels });
      room.levelsShown = any;
      const reactions = room.reactions.drain();
      if (reactions) room.broadcast(reactions);
    }
  }

  /**
   * A host removes someone: a ban for the talk (by their identity, and for guests their browser and
   * address), then out of the room. They are told why; a later join is refused with the same words.
   */
  private async ban(room: Room, target: Participant) {
    const guest = !target.banKeys.tokenHash && !target.userId;
    await this.repo.insertBan(room.talk.partner_id, room.talk.id, {
      participant_id: target.id,
      name: target.name,
      user_id: target.userId,
      uid: target.uid,
      token_hash: target.banKeys.tokenHash,
      device_id: guest ? target.banKeys.deviceId : null,
      address: guest ? target.banKeys.address : null,
    });
    target.send({ type: 'removed', message: REMOVED_MESSAGE });
    target.socket?.close(4003, 'removed by a host');
    this.leave(room, target);
    await this.sendBans(room);
  }

  /** The list of removed people, to the room's hosts (or to one who just joined). */
  async sendBans(room: Room, only?: Participant) {
    const hosts = only ? [only] : [...room.participants.values()];
    if (!hosts.some((h) => h.role === 'host')) return;
    const rows = await this.repo.activeBans(room.talk.partner_id, room.talk.id);
    const message: RoomBansMessage = { type: 'bans', bans: rows.map((r) => ({ id: r.id, name: r.name, removed_at: r.created_at.toISOString() })) };
    for (const h of hosts) if (h.role === 'host') h.send(message);
  }

  /** A participant's own actions and a host's moderation. */
  async act(
    room: Room,
    p: Participant,
    msg: {
      type: string;
      muted?: boolean;
      raised?: boolean;
      action?: string;
      target?: string;
      ban?: string;
      emoji?: unknown;
      text?: unknown;
      question?: unknown;
    },
  ) {
    const target = msg.target ? room.participants.get(msg.target) : undefined;
    if (msg.type === 'react') {
      // Over the participant's limit: dropped without a word (a flood gets no answer to read either).
      if (!isReaction(msg.emoji)) throw new RoomError('bad_request', 'not a reaction this room takes');
      room.reactions.add(p.id, msg.emoji);
      return;
    }
    if (isQuestionMessage(msg)) {
      try {
        this.questionDesk.act(room, p, msg);
      } catch (err) {
        if (err instanceof QuestionRefused) throw new RoomError(err.code, err.message);
        throw err;
      }
      this.refresh(room);
      return;
    }
    switch (msg.type) {
      case 'listen_by_stream':
        if (p.canSpeak) throw new RoomError('not_allowed', 'you are on stage: you speak and listen over WebRTC');
        if (!this.config.LIVE_STREAM) throw new RoomError('not_allowed', 'this server has no audience stream');
        p.tier = 'audience';
        this.dropMedia(room, p);
        break;
      case 'mute':
        if (msg.muted === false && !p.canSpeak) throw new RoomError('not_allowed', 'you cannot speak in this room now: raise your hand');
        p.muted = msg.muted !== false;
        break;
      case 'hand':
        if (p.canSpeak && msg.raised) throw new RoomError('not_allowed', 'you can already speak');
        p.handRaisedAt = msg.raised ? (p.handRaisedAt ?? Date.now()) : null;
        break;
      case 'start':
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can start the talk');
        await this.goLive(room);
        return;
      case 'end':
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can end the talk');
        await this.endTalk(room.talk);
        return;
      case 'lift_ban': {
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can do that');
        const lifted = typeof msg.ban === 'string' ? await this.repo.liftBan(room.talk.partner_id, room.talk.id, msg.ban) : undefined;
        if (!lifted) throw new RoomError('not_found', 'no such removal in force');
        await this.sendBans(room);
        return;
      }
      case 'moderate': {
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can do that');
        if (!target) throw new RoomError('not_found', 'that participant is not in the room');
        if (msg.action === 'mute') target.muted = true;
        else if (msg.action === 'remove') {
          if (target.role === 'host') throw new RoomError('not_allowed', 'hosts cannot be removed');
          await this.ban(room, target);
          return;
        } else if (msg.action === 'bring_up') this.bringUp(room, target);
        else if (msg.action === 'bring_down') {
          if (target.role === 'host') throw new RoomError('not_allowed', 'hosts stay on stage');
          this.bringDown(room, target);
        } else throw new RoomError('bad_request', 'unknown action');
        break;
      }
      default:
        throw new RoomError('bad_request', `unknown message ${msg.type}`);
    }
    this.refresh(room);
  }

  /** On stage, mic by the talk's rule; in a questions room one at a time: whoever was up goes back down. */
  private bringUp(room: Room, target: Participant) {
    if (room.talk.room_type === 'questions') {
      for (const other of room.participants.values()) {
        if (other !== target && other.role === 'listener' && other.onStage) this.bringDown(room, other);
      }
    }
    target.onStage = true;
    target.handRaisedAt = null;
    target.muted = target.role !== 'host' && room.talk.mic_behavior === 'start_off';
  }

  /** Back to listening (to the stream if the talk is past its WebRTC listeners); a question they were on stage for is answered. */
  private bringDown(room: Room, target: Participant) {
    target.onStage = false;
    target.muted = true;
    target.tier = this.listeningTier(room, target);
    if (target.tier === 'audience') this.dropMedia(room, target);
    this.questionDesk.leftStage(room, target);
  }

  /**
   * How a listener hears the room: on WebRTC, unless in a `hosted_events` talk that already has
   * AUDIENCE_WEBRTC_LISTENERS listeners on WebRTC (not counting them): then through the stream.
   */
  private listeningTier(room: Room, p: Participant): MediaTier {
    if (p.canSpeak || !this.config.LIVE_STREAM || room.talk.room_type !== 'hosted_events') return 'webrtc';
    let onWebRtc = 0;
    for (const other of room.participants.values()) if (other !== p && !other.closed && !other.canSpeak && other.tier === 'webrtc') onWebRtc++;
    return onWebRtc >= this.config.AUDIENCE_WEBRTC_LISTENERS ? 'audience' : 'webrtc';
  }

  /** The talk's stream, while it is live (a path: the page plays it from whichever node served it). */
  streamUrl(room: Room): string | null {
    return this.config.LIVE_STREAM && room.live ? streamPath(room.talk) : null;
  }

  /** What a participant was last told of their tier: a WebRTC peer needs no stream URL. */
  private tierKey(room: Room, p: Participant): string {
    return p.tier === 'audience' ? `audience ${this.streamUrl(room)}` : 'webrtc';
  }

  /** The participant's tier, for `joined` or a `tier` message; remembered as told. */
  tierMessage(room: Room, p: Participant): RoomTierMessage {
    p.shownTier = this.tierKey(room, p);
    return { type: 'tier', tier: p.tier, hls_url: this.streamUrl(room) };
  }

  roomOf(talkId: string) {
    return this.rooms.get(talkId);
  }

  slotCount() {
    return SLOTS;
  }
}

function cleanName(value: string | undefined | null): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim().replace(/\s+/g, ' ');
  return v.length >= 1 && v.length <= 60 ? v : null;
}
