/** A room's lifecycle: it goes live at its start time (or when a host starts it), ends at its end time, and takes its talk's edits. */
import type { Logger } from 'pino';
import type { Talk } from '../platform/db/schema.js';
import type { TalksService } from '../talks/service.js';
import type { Room } from './room.js';

/** Whether the talk's session should be on: it has no start time, or that time has come. */
export function shouldBeLive(talk: Pick<Talk, 'start_time'>, now = Date.now()): boolean {
  return !talk.start_time || talk.start_time.getTime() <= now;
}

/**
 * A new room type seats everyone but hosts and speakers by its rule (the whole audience on stage in
 * `default`, off it in the others), their mics as on being brought up or down. Only `hosted_events`
 * talks have an audience tier: in the others everyone hears over WebRTC.
 */
export function seatForRoomType(room: Room, talk: Pick<Talk, 'room_type' | 'mic_behavior'>) {
  const up = talk.room_type === 'default';
  for (const p of room.participants.values()) {
    if (talk.room_type !== 'hosted_events') p.tier = 'webrtc';
    if (p.role === 'host' || p.role === 'speaker' || p.onStage === up) continue;
    p.onStage = up;
    p.muted = up ? talk.mic_behavior === 'start_off' : true;
    if (up) p.handRaisedAt = null;
  }
}

/** What the lifecycle tells the live rooms that compose it. */
export interface LifecycleEvents {
  /** The session started (observers hear it). */
  started(talk: Talk, sessionStartedAt: Date): void;
  /** After going live: the workers and everyone are told. */
  refresh(room: Room): void;
  /** The talk's WebRTC listener limit changed: listeners on the stream may move to WebRTC. */
  limitChanged(room: Room): void;
  /** Ending the talk failed, or it had ended before the room went live: the room closes anyway. */
  closeRoom(talkId: string, reason: 'ended'): void;
}

/** Starts and ends rooms' sessions, by their talks' times or on request. */
export class Lifecycle {
  constructor(
    private readonly talks: TalksService,
    private readonly log: Logger,
    private readonly events: LifecycleEvents,
  ) {}

  /**
   * Arms the room's start and end timers from its talk's times (again after every edit). A timer
   * that fires reads the times again: setTimeout waits at most 24.8 days, and an edit may have
   * moved them. The start timer's check and the timer it re-arms read one clock reading: with two,
   * a timer firing a millisecond early (Node's loop time lags the clock) could find the start not
   * yet come and then, the clock having ticked, arm nothing, and the lobby never opened.
   */
  schedule(room: Room, now = Date.now()) {
    for (const t of [room.startTimer, room.endTimer]) if (t) clearTimeout(t);
    room.startTimer = room.endTimer = null;
    const { start_time: start, end_time: end } = room.talk;
    const wait = (at: Date) => Math.min(Math.max(0, at.getTime() - now), 2 ** 31 - 1);
    if (!room.live && start && !shouldBeLive(room.talk, now)) {
      room.startTimer = setTimeout(() => {
        const at = Date.now();
        if (shouldBeLive(room.talk, at)) void this.goLive(room);
        else this.schedule(room, at);
      }, wait(start));
    }
    if (end) {
      room.endTimer = setTimeout(() => {
        const due = room.talk.end_time;
        if (due && due.getTime() <= Date.now()) void this.endTalk(room.talk);
        else this.schedule(room);
      }, wait(end));
    }
  }

  /**
   * An open room takes its talk as edited: the new times move its start and end timers; a new room
   * type reseats the room (seatForRoomType), a new WebRTC listener limit may move listeners off the
   * stream (tiers.ts, admitToWebRtc); the mic rule applies from the next join or bring-up.
   * Everyone is told what changed (refresh). Rows come in any order (a local edit's notice, a re-read,
   * a join's read): one no later than the room's own (`version`) is ignored.
   */
  applyTalk(room: Room, talk: Talk) {
    if (talk.version <= room.talk.version) return;
    const typeChanged = talk.room_type !== room.talk.room_type;
    const limitChanged = talk.webrtc_listener_limit !== room.talk.webrtc_listener_limit;
    // An edit written before the room went live, whose notice comes after: its row still says scheduled.
    room.talk = room.live && talk.status === 'scheduled' ? { ...talk, status: room.talk.status, started_at: room.talk.started_at } : talk;
    if (typeChanged) seatForRoomType(room, talk);
    if (limitChanged) this.events.limitChanged(room);
    this.schedule(room);
    // A lobby whose start time was removed or moved into the past opens now.
    if (!room.live && room.participants.size > 0 && shouldBeLive(room.talk)) void this.goLive(room);
    this.events.refresh(room);
  }

  /** The session starts: past the start time, or a host started early. */
  async goLive(room: Room) {
    if (room.live || room.closed) return;
    room.live = true;
    const at = new Date();
    room.sessionStartedAt = at;
    if (room.startTimer) clearTimeout(room.startTimer);
    const updated = await this.talks.markLive(room.talk.partner_id, room.talk.id, room.talk.started_at ?? at);
    if (!updated) {
      // The talk ended, or was deleted, since this room read it (a join raced the end): no session
      // starts (no recording, captions or stream), and the room closes as the talk did.
      room.live = false;
      room.sessionStartedAt = null;
      this.events.closeRoom(room.talk.id, 'ended');
      return;
    }
    // Only what going live changed, and the room's row keeps its version: an edit reaches the room
    // through applyTalk, which reseats it for a new room type. Taking the whole row here would skip
    // that (the row already has the edit's type, and a later version, when applyTalk comes), or undo
    // it (the row has the type before an edit applied meanwhile).
    room.talk = { ...room.talk, status: updated.status, started_at: updated.started_at };
    this.events.started(room.talk, at);
    this.events.refresh(room);
  }

  /** Ends the talk through the talks service (its listener then closes the room). */
  async endTalk(talk: Talk) {
    try {
      await this.talks.end(talk.partner_id, talk.id);
    } catch (err) {
      this.log.warn({ err, talkId: talk.id }, 'could not end the talk');
      this.events.closeRoom(talk.id, 'ended');
    }
  }
}
