/** The live rooms' public face (`LiveRooms`): this node's registry of rooms and participants, composing hosting, admission, moderation, lifecycle, tiers, negotiation, levels and updates. */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { safeEqual } from '../platform/compare.js';
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db/index.js';
import type { Talk } from '../platform/db/schema.js';
import { AppError } from '../platform/errors.js';
import type { SfuPool } from '../sfu/pool.js';
import type { IceCandidate } from '../sfu/protocol.js';
import type { TalksService } from '../talks/service.js';
import type { EventSink } from '../webhooks/events.js';
import { Admission, type BanKeys, type Identity, type JoinRequest, banKeysOf } from './admission.js';
import { RoomError } from './errors.js';
import type { SessionHost } from './handoff.js';
import { RoomHosting } from './hosting.js';
import { LEVELS_TICK_MS, recordLevels, tickLevels } from './levels.js';
import { Lifecycle, shouldBeLive } from './lifecycle.js';
import type { LiveTalkObserver, LiveTalks, Present, RtpTarget } from './live.js';
import { type RoomAction, Moderation } from './moderation.js';
import { addCandidate, answerOffer } from './negotiation.js';
import { LiveObservers, speakerInfo } from './observers.js';
import { type RoomPlacement, localPlacement } from './placement.js';
import { type CaptionView, CloseCode, type RoomTierMessage } from './protocol.js';
import { RoomsRepository } from './repository.js';
import { type CloseReason, Participant, Room, SLOTS, goesOnElsewhere } from './room.js';
import { admitToWebRtc, listeningTier, streamUrl, tierKey, tierMessage } from './tiers.js';
import { scheduleUpdate } from './updates.js';

/**
 * The live rooms of every talk: the signalling side of the media plane, and the `LiveTalks` seam.
 * The feature's public face: it keeps the registry of this node's rooms and their participants and
 * composes the parts (hosting.ts, admission.ts, moderation.ts, lifecycle.ts, tiers.ts, negotiation.ts,
 * levels.ts, updates.ts, observers.ts).
 */
export class LiveRooms implements LiveTalks {
  readonly continuousTaps = true;
  readonly repo: RoomsRepository;
  private readonly rooms = new Map<string, Room>();
  private readonly byParticipant = new Map<string, Room>();
  private readonly observers: LiveObservers;
  private readonly levelTimer: NodeJS.Timeout;
  private readonly hosting: RoomHosting;
  private readonly admission: Admission;
  private readonly moderation: Moderation;
  private readonly lifecycle: Lifecycle;
  /** closeAll has begun: joins are turned away. */
  private stopping = false;

  constructor(
    db: Db,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly talks: TalksService,
    events: EventSink,
    readonly sfu: SfuPool,
    private readonly placement: RoomPlacement = localPlacement,
  ) {
    this.repo = new RoomsRepository(db);
    this.observers = new LiveObservers(log);
    this.hosting = new RoomHosting(placement, this.repo, talks, config.EMPTY_ROOM_TIMEOUT_SECONDS, log, {
      has: (talkId) => this.rooms.has(talkId),
      talkIds: () => [...this.rooms.keys()],
      moved: (talkId) => this.closeRoom(talkId, 'moved'),
    });
    this.admission = new Admission(db, this.repo, events, config.GUEST_JOINS_PER_MINUTE);
    this.lifecycle = new Lifecycle(talks, log, {
      started: (talk, at) => this.observers.notify((o) => o.talkStarted?.(talk, at)),
      refresh: (room) => this.refresh(room),
      limitChanged: (room) => admitToWebRtc(this.config, room),
      closeRoom: (talkId, reason) => this.closeRoom(talkId, reason),
    });
    this.moderation = new Moderation(this.repo, log, config, {
      refresh: (room) => this.refresh(room),
      dropMedia: (room, p) => this.dropMedia(room, p),
      leave: (room, p) => this.leave(room, p),
      goLive: (room) => this.goLive(room),
      endTalk: (talk) => this.endTalk(talk),
    });
    this.levelTimer = setInterval(() => {
      for (const room of this.rooms.values()) tickLevels(room, this.sfu);
    }, LEVELS_TICK_MS);
    this.levelTimer.unref();
  }

  // ---- several nodes (hosting.ts, placement.ts)

  async start() {
    await this.hosting.start();
  }

  /**
   * One of the partner's talks changed on another node (ended, deleted or edited through its API):
   * this node's rooms of that partner re-read theirs. Null: changes may have gone unheard (the
   * LISTEN connection was down), so every room re-reads its talk.
   */
  async talksChangedElsewhere(partnerId: string | null) {
    await this.reloadTalks([...this.rooms.values()].filter((r) => partnerId === null || r.talk.partner_id === partnerId));
  }

  /**
   * The rooms re-read their talks: deleted or ended, they close; otherwise each takes its row if it
   * is later than its own (applyTalk): a row read before an edit through this node's API, or before
   * the room went live, and returned after, is older than what the room took meanwhile.
   */
  private async reloadTalks(rooms: Room[]) {
    if (!rooms.length) return;
    const talks = new Map((await this.talks.byIdsForRooms(rooms.map((r) => r.talk.id))).map((t) => [t.id, t]));
    for (const room of rooms) {
      const talk = talks.get(room.talk.id);
      if (room.closed) continue;
      if (!talk) this.closeRoom(room.talk.id, 'deleted');
      else if (talk.status === 'ended') this.closeRoom(talk.id, 'ended');
      else this.lifecycle.applyTalk(room, talk);
    }
  }

  /**
   * A talk was edited on this node: its open room takes the new fields at once, unless it holds a
   * later row already (another node's edit, re-read while this one's notice was on its way).
   */
  talkUpdated(talk: Talk) {
    const room = this.rooms.get(talk.id);
    if (room && !room.closed && talk.status !== 'ended') this.lifecycle.applyTalk(room, talk);
  }

  // ---- LiveTalks seam

  addObserver(observer: LiveTalkObserver) {
    this.observers.add(observer, this.rooms.values());
  }

  async tapSpeaker(talkId: string, participantId: string, target: RtpTarget) {
    const room = this.rooms.get(talkId);
    if (!room?.participants.has(participantId)) throw new AppError('not_found', 'no such speaker in a live room');
    return this.sfu.tap(participantId, target.port, target.payloadType);
  }

  broadcastCaption(talkId: string, caption: CaptionView) {
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

  hostsRoom(talkId: string): boolean {
    return this.rooms.has(talkId);
  }

  async hostedElsewhere(talkId: string): Promise<string | null> {
    if (this.rooms.has(talkId) || this.placement.heartbeatMs === 0) return null;
    return this.repo.hostOf(talkId, this.placement.staleSeconds);
  }

  // ---- joining (admission.ts decides who comes in)

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
    return this.hosting.claimAndJoin(talk.id, () => this.joinHere(talk, request, sessionHost, socket));
  }

  private async joinHere(talk: Talk, request: JoinRequest, sessionHost: SessionHost | null, socket: WebSocket) {
    const room = this.rooms.get(talk.id);
    if (request.resume && room) {
      const p = [...room.participants.values()].find((x) => safeEqual(x.resumeSecret, request.resume as string));
      if (p && !p.closed) {
        this.attach(p, socket);
        return { room, participant: p, resumed: true };
      }
    }
    const banKeys = banKeysOf(request);
    if (request.resume) {
      const earlier = await this.admission.resumeEarlier(talk, request.resume, banKeys, (id) => !!this.rooms.get(talk.id)?.admitted.has(id));
      if (earlier) return this.admit(talk, earlier.id, request.resume, earlier.identity, earlier.banKeys, socket, true);
    }
    const { id, secret, identity } = await this.admission.admitNew(talk, request, sessionHost, banKeys);
    return this.admit(talk, id, secret, identity, banKeys, socket, false);
  }

  /** Into the room (opened now if it is not yet), live if it is time. */
  private async admit(talk: Talk, id: string, secret: string, identity: Identity, banKeys: BanKeys, socket: WebSocket, resumed: boolean) {
    const current = this.openRoom(talk);
    await this.moderation.questions.load(current);
    // Closed meanwhile (the talk ended or was deleted after the join read it, or the room moved).
    if (goesOnElsewhere(current.closedAs)) return { nodeUrl: null };
    if (current.closed) throw new RoomError('ended', 'this talk has ended');
    // Two sockets resuming the same participant at once: the later one takes over the first's place.
    const already = current.participants.get(id);
    if (already && !already.closed) {
      this.attach(already, socket);
      return { room: current, participant: already, resumed: true };
    }
    const p = new Participant(id, secret, identity.role, identity.name, identity.username, identity.photoUrl, identity.uid, identity.userId, current.talk);
    p.banKeys = banKeys;
    p.tier = listeningTier(this.config, current, p);
    current.participants.set(p.id, p);
    current.admitted.add(p.id);
    this.byParticipant.set(p.id, current);
    if (current.emptyTimer) {
      clearTimeout(current.emptyTimer);
      current.emptyTimer = null;
    }
    this.attach(p, socket);
    if (!current.live && shouldBeLive(current.talk)) await this.goLive(current);
    return { room: current, participant: p, resumed };
  }

  private attach(p: Participant, socket: WebSocket) {
    if (p.graceTimer) {
      clearTimeout(p.graceTimer);
      p.graceTimer = null;
    }
    if (p.socket && p.socket !== socket) p.socket.close(CloseCode.replaced, 'replaced by a new connection');
    p.socket = socket;
    p.shownTier = null; // a new socket is told its tier in `joined`
    p.shownStage = null; // and sent the room after it
  }

  /**
   * The talk's room, opened with the join's row if there is none. A join reads the talk before it
   * gets here: an edit in between reached no room (if it opens now) or the room before this row (if
   * another join opened it), so a later row is applied, and a new room reads its talk once more.
   */
  private openRoom(talk: Talk): Room {
    let room = this.rooms.get(talk.id);
    if (room) {
      if (talk.status !== 'ended') this.lifecycle.applyTalk(room, talk);
      return room;
    }
    room = new Room(talk);
    this.rooms.set(talk.id, room);
    this.lifecycle.schedule(room);
    this.reloadTalks([room]).catch((err) => this.log.warn({ err, talkId: talk.id }, 'could not read the talk of a room just opened'));
    return room;
  }

  // ---- lifecycle (lifecycle.ts keeps the timers)

  /** The session starts: past the start time, or a host started early. */
  goLive(room: Room) {
    return this.lifecycle.goLive(room);
  }

  /** Ends the talk through the talks service (its listener then closes the room). */
  endTalk(talk: Talk) {
    return this.lifecycle.endTalk(talk);
  }

  /**
   * Closes a room and everything in it (idempotent). The talk goes on after `moved` (another node
   * took it over: this one missed its heartbeats) and `shutdown` (this node stops): the pages
   * reconnect, to the node that hosts the talk now or to this one once it is back.
   */
  closeRoom(talkId: string, reason: CloseReason) {
    const room = this.rooms.get(talkId);
    if (!room || room.closed) return;
    room.closedAs = reason;
    this.rooms.delete(talkId);
    for (const t of [room.emptyTimer, room.startTimer, room.endTimer, room.updateTimer, room.stageTimer]) if (t) clearTimeout(t);
    const goesOn = goesOnElsewhere(reason);
    if (reason === 'ended' || reason === 'deleted') room.broadcast({ type: 'ended', reason });
    for (const p of room.participants.values()) {
      this.stopSpeaking(room, p);
      p.closed = true;
      if (p.graceTimer) clearTimeout(p.graceTimer);
      this.byParticipant.delete(p.id);
      // The talk goes on: they come back as themselves (their row stays, not left), where it is hosted next.
      if (goesOn)
        p.socket?.close(CloseCode.reconnect, reason === 'moved' ? 'the room moved to another node: reconnect' : 'the server is restarting: reconnect');
      else {
        p.socket?.close(CloseCode.ended, 'the talk has ended');
        void this.repo.markLeft(room.talk.partner_id, p.id).catch(() => undefined);
      }
    }
    room.participants.clear();
    this.sfu.closeTalk(talkId);
    // Moved: the claim is another node's now. Shutdown: closeAll releases every claim at once.
    if (!goesOn) this.hosting.release(talkId);
    if (room.live) this.observers.notify((o) => o.talkStopped?.(talkId, goesOn));
  }

  async closeAll() {
    this.stopping = true;
    await this.hosting.stop();
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
    this.moderation.questions.leftStage(room, p);
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
    this.observers.notify((o) => o.speakerStopped?.(talkId, p.id));
  }

  /** What the talk's live room has broadcast to its sockets so far (null when it has no room). */
  traffic(talkId: string): { messages: number; bytes: number } | null {
    const room = this.rooms.get(talkId);
    return room ? { ...room.sent } : null;
  }

  /** After any change: tell the workers who may publish and who is in which slot; tell everyone what changed (updates.ts batches it). */
  refresh(room: Room) {
    if (room.closed) return;
    for (const p of room.participants.values()) {
      // On stage (brought up, or the room type changed): heard by everyone, so on WebRTC.
      if (p.canSpeak && p.tier === 'audience') p.tier = 'webrtc';
      // Not told yet (null): `joined` tells this socket its tier, after the join that may run this.
      if (p.socket && p.shownTier !== null && p.shownTier !== tierKey(this.config, room, p)) p.send(tierMessage(this.config, room, p));
      // Now shown the room another way (the whole room, or the stage: the room type edited): start it afresh.
      if (p.socket && p.shownStage !== null && p.shownStage !== room.seesStage(p)) room.sendState(p);
      if (!p.hasMedia) continue;
      const publishing = room.publishing(p);
      this.sfu.setPublish(p.id, publishing);
      if (room.live && p.canSpeak && !p.muted && !p.announcedSpeaker) {
        p.announcedSpeaker = true;
        const info = speakerInfo(p);
        const talkId = room.talk.id;
        this.observers.notify((o) => o.speakerStarted?.(talkId, info));
      } else if (!p.canSpeak) this.stopSpeaking(room, p);
    }
    room.assignSlots();
    this.sfu.setSlots(room.talk.id, room.slots, [...room.participants.keys()]);
    scheduleUpdate(room);
  }

  // ---- negotiation

  /** The SFU's answer to the participant's offer (negotiation.ts). */
  offer(room: Room, p: Participant, sdp: string): Promise<string> {
    return answerOffer(this.sfu, { dropMedia: (r, x) => this.dropMedia(r, x), refresh: (r) => this.refresh(r) }, room, p, sdp);
  }

  /** A candidate the client gathered after sending its offer (trickle ICE). */
  candidate(p: Participant, candidate: IceCandidate) {
    addCandidate(this.sfu, p, candidate);
  }

  /**
   * The SFU lost these participants' peers (its media process died and was started again): each
   * WebRTC client is told its tier again, and a client told `webrtc` negotiates a new peer, as the
   * page does when brought on stage. They keep `hasMedia`: the pool keeps their place for the new
   * peer (a leave before it still closes it there), and a publish flag or candidate sent meanwhile
   * finds no peer in the new process and is dropped.
   */
  mediaLost(participantIds: string[]) {
    for (const id of participantIds) {
      const room = this.byParticipant.get(id);
      const p = room?.participants.get(id);
      if (!room || !p || p.closed) continue;
      if (p.socket && p.tier === 'webrtc') p.send(tierMessage(this.config, room, p));
    }
  }

  /** The SFU's measured speaking levels (levels.ts sends them every tick). */
  onLevels(levels: [string, number][]) {
    recordLevels(levels, (id) => this.byParticipant.get(id));
  }

  // ---- moderation (moderation.ts) and the audience tier (tiers.ts)

  /** A participant's own actions and a host's moderation. */
  act(room: Room, p: Participant, msg: RoomAction) {
    return this.moderation.act(room, p, msg);
  }

  /** The list of removed people, to the room's hosts (or to one who just joined). */
  sendBans(room: Room, only?: Participant) {
    return this.moderation.sendBans(room, only);
  }

  /** The talk's stream, while it is live (a path: the page plays it from whichever node served it). */
  streamUrl(room: Room): string | null {
    return streamUrl(this.config, room);
  }

  /** The participant's tier, for `joined` or a `tier` message; remembered as told. */
  tierMessage(room: Room, p: Participant): RoomTierMessage {
    return tierMessage(this.config, room, p);
  }

  roomOf(talkId: string) {
    return this.rooms.get(talkId);
  }

  slotCount() {
    return SLOTS;
  }
}
