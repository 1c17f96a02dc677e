import type { WebSocket } from 'ws';
import type { ParticipantRole, Talk } from '../platform/db/schema.js';
import { sendMessage } from './messages.js';
import type { MediaTier, ParticipantView, RoomCounts, RoomStateMessage, RoomUpdateMessage, ServerMessage, TalkView } from './protocol.js';
import { QuestionQueue } from './question-queue.js';
import { RoomReactions } from './reactions.js';

/** How many speakers a client hears at once: its offer carries this many receive slots. */
export const SLOTS = 4;

/** Smoothed level (0..1, about -63 dBov) from which a publisher is worth a slot. */
export const AUDIBLE = 0.1;

/** One person in a live room. Presence outlives its socket for the reconnect grace period. */
export class Participant {
  socket: WebSocket | null = null;
  /** May publish (host, on stage, or everyone in a default room). */
  onStage: boolean;
  muted: boolean;
  handRaisedAt: number | null = null;
  level = 0;
  /** A media peer exists on an SFU worker. */
  hasMedia = false;
  /** How they hear the room: a WebRTC peer, or the talk's stream (the audience tier: no peer, no offer taken). */
  tier: MediaTier = 'webrtc';
  /** Asked for the stream themselves (listen_by_stream: their WebRTC failed): a raised limit leaves them on it. */
  streamChosen = false;
  /** The tier (and stream URL) this participant's socket was last told (null: not yet, before `joined`). */
  shownTier: string | null = null;
  /** Whether this participant's socket was last sent the stage view (Room.seesStage) or the whole room (null: no state yet). */
  shownStage: boolean | null = null;
  /** speakerStarted was sent and speakerStopped not yet. */
  announcedSpeaker = false;
  graceTimer: NodeJS.Timeout | null = null;
  closed = false;
  /** What a ban would match if a host removes them (the join token's hash, the browser, the address). */
  banKeys: { tokenHash: string | null; deviceId: string | null; address: string | null } = { tokenHash: null, deviceId: null, address: null };

  constructor(
    readonly id: string,
    readonly resumeSecret: string,
    readonly role: ParticipantRole,
    readonly name: string,
    readonly username: string | null,
    readonly photoUrl: string | null,
    readonly uid: string | null,
    readonly userId: string | null,
    talk: Talk,
  ) {
    this.onStage = role === 'host' || talk.room_type === 'default' || role === 'speaker';
    this.muted = role !== 'host' && talk.mic_behavior === 'start_off';
  }

  /** In the audience tier: hears the stream, has no peer connection. */
  get onStream() {
    return this.tier === 'audience';
  }

  get canSpeak() {
    return this.role === 'host' || this.onStage;
  }

  send(message: ServerMessage) {
    if (this.socket) sendMessage(this.socket, message);
  }

  toJson(): ParticipantView {
    return {
      id: this.id,
      name: this.name,
      username: this.username,
      photo_url: this.photoUrl,
      role: this.role,
      can_speak: this.canSpeak,
      muted: this.muted,
      hand_raised: this.handRaisedAt !== null,
      connected: this.socket !== null,
    };
  }
}

/** Why a room closed: the talk is over (ended, deleted), or goes on elsewhere (moved: another node took it; shutdown: this node stops). */
export type CloseReason = 'ended' | 'deleted' | 'moved' | 'shutdown';

/** The talk goes on after its room here closed: its pages reconnect, to wherever it is hosted next. */
export function goesOnElsewhere(reason: CloseReason | null): boolean {
  return reason === 'moved' || reason === 'shutdown';
}

/** A talk's live room: participants, the hand queue and the speaker slots. */
export class Room {
  readonly participants = new Map<string, Participant>();
  /** Everyone admitted to this room since it opened (here), those gone since too. */
  readonly admitted = new Set<string>();
  slots: (string | null)[] = new Array(SLOTS).fill(null);
  live = false;
  sessionStartedAt: Date | null = null;
  emptyTimer: NodeJS.Timeout | null = null;
  startTimer: NodeJS.Timeout | null = null;
  endTimer: NodeJS.Timeout | null = null;
  /** A coalesced update broadcast is pending. */
  updateTimer: NodeJS.Timeout | null = null;
  /** A stage update (to those shown the stage view) is pending. */
  stageTimer: NodeJS.Timeout | null = null;
  /** The last levels broadcast had someone speaking (so a silent one must follow). */
  levelsShown = false;
  /** Why it closed (LiveRooms.closeRoom), null while open. */
  closedAs: CloseReason | null = null;
  get closed(): boolean {
    return this.closedAs !== null;
  }
  /** The question queue (`questions` rooms) and the reactions waiting for the next broadcast. */
  readonly questions = new QuestionQueue();
  readonly reactions = new RoomReactions();
  /** What the room's broadcasts have sent to its sockets: messages and bytes, counted per recipient. */
  readonly sent = { messages: 0, bytes: 0 };
  /** The room as the last update left it, serialized: what the next update is measured against. */
  private readonly shown = shownView();
  /** The same for the sockets shown only the stage (seesStage, stageUpdate). */
  private readonly shownStage = shownView();

  constructor(public talk: Talk) {}

  broadcast(message: ServerMessage) {
    const text = JSON.stringify(message);
    for (const p of this.participants.values()) this.sendText(p, text);
  }

  /** To the participants shown one view of the room only (updates: the whole room, or the stage: seesStage). */
  broadcastToView(message: ServerMessage, stage: boolean) {
    const text = JSON.stringify(message);
    for (const p of this.participants.values()) if (this.seesStage(p) === stage) this.sendText(p, text);
  }

  /**
   * Whether a participant is shown the stage and the counts rather than everyone: the audience tier,
   * and in a `hosted_events` talk everyone but its hosts (who moderate the whole room). A listener
   * on WebRTC in a keynote of 1,000 would otherwise be sent every join and leave of the 999 others:
   * n² messages in all (208 MB while 1,000 joined, measured in bench:sfu).
   */
  seesStage(p: Participant): boolean {
    return p.onStream || (this.talk.room_type === 'hosted_events' && p.role !== 'host');
  }

  /** How many sockets here are shown the stage view and how many the whole room (one pass over everyone). */
  viewers(): { stage: number; room: number } {
    let stage = 0;
    let room = 0;
    for (const p of this.participants.values()) {
      if (!p.socket) continue;
      if (this.seesStage(p)) stage++;
      else room++;
    }
    return { stage, room };
  }

  /** The room to one participant (who joined, resumed or now sees it another way): the whole room, or its stage (seesStage). */
  sendState(p: Participant) {
    p.shownStage = this.seesStage(p);
    this.sendText(p, JSON.stringify(this.state(p.shownStage)));
  }

  private sendText(p: Participant, text: string) {
    if (p.socket?.readyState !== 1) return;
    p.socket.send(text);
    this.sent.messages++;
    this.sent.bytes += text.length;
  }

  hands(): string[] {
    return [...this.participants.values()]
      .filter((p) => p.handRaisedAt !== null)
      .sort((a, b) => (a.handRaisedAt as number) - (b.handRaisedAt as number))
      .map((p) => p.id);
  }

  /** Who may have their packets forwarded right now. */
  publishing(p: Participant): boolean {
    return this.live && !p.closed && p.canSpeak && !p.muted;
  }

  /**
   * Keeps current slot holders while they may publish; fills free slots with the loudest others.
   * Returns true when the assignment changed.
   */
  assignSlots(): boolean {
    const candidates = [...this.participants.values()].filter((p) => this.publishing(p) && p.hasMedia);
    const ids = new Set(candidates.map((p) => p.id));
    const next = this.slots.map((id) => (id && ids.has(id) ? id : null));
    // A free slot goes only to someone audible: silent publishers (an open mic in a quiet room) would
    // otherwise fill every slot and multiply the packets forwarded to each listener by four.
    const waiting = candidates.filter((p) => !next.includes(p.id) && p.level >= AUDIBLE).sort((a, b) => b.level - a.level);
    for (const p of waiting) {
      let free = next.indexOf(null);
      if (free < 0) {
        // Full: replace the quietest holder if this one is clearly louder.
        let quietest = 0;
        for (let i = 1; i < next.length; i++) {
          if ((this.participants.get(next[i] as string)?.level ?? 0) < (this.participants.get(next[quietest] as string)?.level ?? 0)) quietest = i;
        }
        if (p.level > (this.participants.get(next[quietest] as string)?.level ?? 0) + 0.15) free = quietest;
      }
      if (free >= 0) next[free] = p.id;
    }
    const changed = next.some((id, i) => id !== this.slots[i]);
    this.slots = next;
    return changed;
  }

  /**
   * Who the stage view lists (seesStage): hosts, whoever may speak, and raised hands (so a hand's
   * owner sees their own). Its 10,000 sockets get this and the counts, never everyone who comes and goes.
   */
  onStageView(p: Participant): boolean {
    return p.role === 'host' || p.canSpeak || p.handRaisedAt !== null;
  }

  /** How many are in the room, by what they do. */
  counts(): RoomCounts {
    let speakers = 0;
    let audience = 0;
    for (const p of this.participants.values()) {
      if (p.canSpeak) speakers++;
      if (p.onStream) audience++;
    }
    return { participants: this.participants.size, speakers, audience };
  }

  /** The whole room, for a client that joins or resumes; `stageOnly`: its stage and counts (seesStage). */
  state(stageOnly = false): RoomStateMessage {
    const everyone = [...this.participants.values()];
    return {
      type: 'state',
      talk: this.talkView(),
      participants: (stageOnly ? everyone.filter((p) => this.onStageView(p)) : everyone).map((p) => p.toJson()),
      hands: this.hands(),
      slots: this.slots,
      questions: this.questions.view(),
      counts: this.counts(),
    };
  }

  /**
   * What changed since the previous call (null if nothing did), to broadcast. A client that joined
   * in between already has some of it in its state: applying it again changes nothing.
   */
  update(): RoomUpdateMessage | null {
    return this.diff(this.shown, () => true);
  }

  /** The same for the stage view (seesStage): what changed on the stage, and the counts. */
  stageUpdate(): RoomUpdateMessage | null {
    return this.diff(this.shownStage, (p) => this.onStageView(p));
  }

  private diff(shown: ReturnType<typeof shownView>, shows: (p: Participant) => boolean): RoomUpdateMessage | null {
    const message: RoomUpdateMessage = { type: 'update', participants: [], left: [] };
    const now = new Map<string, string>();
    for (const p of this.participants.values()) {
      if (!shows(p)) continue;
      const view = p.toJson();
      const text = JSON.stringify(view);
      now.set(p.id, text);
      if (shown.participants.get(p.id) !== text) message.participants.push(view);
    }
    for (const id of shown.participants.keys()) if (!now.has(id)) message.left.push(id);
    shown.participants = now;
    const talk = this.talkView();
    const hands = this.hands();
    const changed = (key: 'talk' | 'hands' | 'slots' | 'questions' | 'counts', value: unknown) => {
      const text = JSON.stringify(value);
      if (text === shown[key]) return false;
      shown[key] = text;
      return true;
    };
    if (changed('talk', talk)) message.talk = talk;
    if (changed('hands', hands)) message.hands = hands;
    if (changed('slots', this.slots)) message.slots = this.slots;
    const questions = this.questions.view();
    if (changed('questions', questions)) message.questions = questions;
    const counts = this.counts();
    if (changed('counts', counts)) message.counts = counts;
    const empty =
      !message.participants.length && !message.left.length && !message.talk && !message.hands && !message.slots && !message.questions && !message.counts;
    return empty ? null : message;
  }

  private talkView(): TalkView {
    return {
      id: this.talk.id,
      name: this.talk.name,
      status: this.talk.status,
      room_type: this.talk.room_type,
      mic_behavior: this.talk.mic_behavior,
      start_time: this.talk.start_time?.toISOString() ?? null,
      end_time: this.talk.end_time?.toISOString() ?? null,
      live: this.live,
    };
  }
}

/** A room as some sockets were last shown it, serialized. */
function shownView() {
  return { participants: new Map<string, string>(), talk: '', hands: '', slots: '', questions: '', counts: '' };
}
