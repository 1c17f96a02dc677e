/** The live-talk observers (recording, captions): told when a session starts or stops and who speaks; one that throws cannot take down a room. */
import type { Logger } from 'pino';
import type { LiveTalkObserver, SpeakerInfo } from './live.js';
import type { Participant, Room } from './room.js';

/** Who a speaker is, as observers are told. */
export function speakerInfo(p: Participant): SpeakerInfo {
  return { participantId: p.id, userId: p.userId, uid: p.uid, name: p.name, username: p.username, photoUrl: p.photoUrl };
}

/** The observers of this node's rooms. */
export class LiveObservers {
  private readonly observers: LiveTalkObserver[] = [];

  constructor(private readonly log: Logger) {}

  /**
   * A new observer. A node takes joins as soon as it listens, before its background work has
   * started: a room reopened by participants back after a restart may be live before the recorder
   * observes. It hears what is live already (`open`), as it would have.
   */
  add(observer: LiveTalkObserver, open: Iterable<Room>) {
    this.observers.push(observer);
    for (const room of open) {
      if (!room.live || room.closed || !room.sessionStartedAt) continue;
      const { talk, sessionStartedAt } = room;
      this.call(() => observer.talkStarted?.(talk, sessionStartedAt));
      for (const p of room.participants.values()) {
        if (p.announcedSpeaker) this.call(() => observer.speakerStarted?.(talk.id, speakerInfo(p)));
      }
    }
  }

  /** Everyone observing is called; one throwing observer cannot take down the room. */
  notify(fn: (o: LiveTalkObserver) => void | Promise<void> | undefined) {
    for (const o of this.observers) this.call(() => fn(o));
  }

  private call(fn: () => void | Promise<void> | undefined) {
    try {
      Promise.resolve(fn()).catch((err) => this.log.error({ err }, 'live-talk observer failed'));
    } catch (err) {
      this.log.error({ err }, 'live-talk observer failed');
    }
  }
}
