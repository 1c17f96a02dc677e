/** Moderation: a participant's own actions (mic, hand, reactions, questions, the stream) and a host's (start, end, bring up or down, remove, lift a ban). */
import type { Logger } from 'pino';
import type { Talk } from '../platform/db/schema.js';
import { REMOVED_MESSAGE, RoomError } from './errors.js';
import { type ClientMessage, CloseCode, type RoomBansMessage } from './protocol.js';
import { QuestionDesk, QuestionRefused, type Stage } from './questions.js';
import type { RoomsRepository } from './repository.js';
import type { Participant, Room } from './room.js';
import { type TierRule, listeningTier } from './tiers.js';

/** A message a joined participant sends to act in the room (the socket handles joining, media, leaving and pings itself). */
export type RoomAction = Exclude<ClientMessage, { type: 'join' | 'offer' | 'candidate' | 'leave' | 'ping' }>;

/** What moderation asks of the live rooms that compose it. */
export interface RoomControl {
  /** After a change: the workers and everyone are told. */
  refresh(room: Room): void;
  /** Their peer connection (and speaking) ends; they stay in the room. */
  dropMedia(room: Room, p: Participant): void;
  /** Out of the room for good. */
  leave(room: Room, p: Participant): void;
  goLive(room: Room): Promise<void>;
  endTalk(talk: Talk): Promise<void>;
}

/** Who may do what in a room, and the stage moves and bans that follow. */
export class Moderation implements Stage {
  /** The question queue's rules (a picked question brings its asker up through this stage). */
  readonly questions: QuestionDesk;

  constructor(
    private readonly repo: RoomsRepository,
    log: Logger,
    private readonly rule: TierRule,
    private readonly control: RoomControl,
  ) {
    this.questions = new QuestionDesk(repo, log, this);
  }

  /** A participant's own actions and a host's moderation. */
  async act(room: Room, p: Participant, msg: RoomAction) {
    switch (msg.type) {
      case 'react':
        // Over the participant's limit: dropped without a word (a flood gets no answer to read either).
        room.reactions.add(p.id, msg.emoji);
        return;
      case 'ask':
      case 'pick_question':
      case 'finish_question':
      case 'remove_question':
        try {
          this.questions.act(room, p, msg);
        } catch (err) {
          if (err instanceof QuestionRefused) throw new RoomError(err.code, err.message);
          throw err;
        }
        break;
      case 'listen_by_stream':
        if (p.canSpeak) throw new RoomError('not_allowed', 'you are on stage: you speak and listen over WebRTC');
        if (!this.rule.LIVE_STREAM) throw new RoomError('not_allowed', 'this server has no audience stream');
        p.tier = 'audience';
        p.streamChosen = true;
        this.control.dropMedia(room, p);
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
        await this.control.goLive(room);
        return;
      case 'end':
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can end the talk');
        await this.control.endTalk(room.talk);
        return;
      case 'lift_ban': {
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can do that');
        const lifted = await this.repo.liftBan(room.talk.partner_id, room.talk.id, msg.ban);
        if (!lifted) throw new RoomError('not_found', 'no such removal in force');
        await this.sendBans(room);
        return;
      }
      case 'moderate': {
        if (p.role !== 'host') throw new RoomError('not_allowed', 'only hosts can do that');
        const target = room.participants.get(msg.target);
        if (!target) throw new RoomError('not_found', 'that participant is not in the room');
        if (msg.action === 'mute') target.muted = true;
        else if (msg.action === 'remove') {
          if (target.role === 'host') throw new RoomError('not_allowed', 'hosts cannot be removed');
          await this.ban(room, target);
          return;
        } else if (msg.action === 'bring_up') this.bringUp(room, target);
        else {
          if (target.role === 'host') throw new RoomError('not_allowed', 'hosts stay on stage');
          this.bringDown(room, target);
        }
        break;
      }
      default: {
        const unhandled: never = msg;
        throw new RoomError('bad_request', `unknown message ${(unhandled as { type: string }).type}`);
      }
    }
    this.control.refresh(room);
  }

  /** On stage, mic by the talk's rule; in a questions room one at a time: whoever was up goes back down. */
  bringUp(room: Room, target: Participant) {
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
  bringDown(room: Room, target: Participant) {
    target.onStage = false;
    target.muted = true;
    target.tier = listeningTier(this.rule, room, target);
    if (target.tier === 'audience') this.control.dropMedia(room, target);
    this.questions.leftStage(room, target);
  }

  /**
   * A host removes someone: a ban for the talk (by their identity, their browser and their address),
   * then out of the room. They are told why; a later join is refused with the same words. Browser and
   * address are matched only for joins as a guest: they keep a removed join-link holder from coming
   * back without the link, as anyone may join some talks.
   */
  private async ban(room: Room, target: Participant) {
    await this.repo.insertBan(room.talk.partner_id, room.talk.id, {
      participant_id: target.id,
      name: target.name,
      user_id: target.userId,
      uid: target.uid,
      token_hash: target.banKeys.tokenHash,
      device_id: target.banKeys.deviceId,
      address: target.banKeys.address,
    });
    target.send({ type: 'removed', message: REMOVED_MESSAGE });
    target.socket?.close(CloseCode.refused, 'removed by a host');
    this.control.leave(room, target);
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
}
