import type { Talk } from '../platform/db/schema.js';
import type { CaptionView } from './protocol.js';

/**
 * The seam between the live room (rooms/ + sfu/) and what observes it (recording, captions).
 * The live-room feature implements `LiveTalks` (its `live`, which the root hands the observers); the recording feature
 * adds an observer and taps speakers' audio.
 */
export interface Present {
  participantId: string;
  name: string;
  role: 'host' | 'speaker' | 'listener';
  photoUrl: string | null;
}

export interface SpeakerInfo {
  participantId: string;
  /** Our user id when the participant is a logged-in user, else null. */
  userId: string | null;
  /** The partner's own user id, from a partner-issued join token, else null. */
  uid: string | null;
  name: string;
  username: string | null;
  photoUrl: string | null;
}

export interface LiveTalkObserver {
  /** A talk went live: its first participant joined (each live session of a talk calls this once). */
  talkStarted?(talk: Talk, sessionStartedAt: Date): void | Promise<void>;
  /** A participant began publishing audio (joined as a speaker, was brought up, or unmuted for the first time). */
  speakerStarted?(talkId: string, speaker: SpeakerInfo): void | Promise<void>;
  /** A participant stopped publishing for good (left, was brought down, or was removed). */
  speakerStopped?(talkId: string, participantId: string): void | Promise<void>;
  /**
   * The live session stopped on this node. `goesOn` false: it ended (by a host or the API, past its
   * end time, or empty past the timeout). `goesOn` true: the talk goes on elsewhere (its room moved to
   * another node, or this node is stopping), and its pages reconnect there.
   */
  talkStopped?(talkId: string, goesOn: boolean): void | Promise<void>;
}

export interface RtpTarget {
  host: '127.0.0.1';
  port: number;
  /** The Opus payload type to stamp on forwarded packets (must match the consumer's SDP). */
  payloadType: number;
}

export interface LiveTalks {
  addObserver(observer: LiveTalkObserver): void;
  /**
   * Taps send one continuous stream paced by the clock (silence through the speaker's gaps, see
   * src/sfu/tap.ts), so a capture's file ends where its tap stopped.
   */
  readonly continuousTaps?: boolean;
  /** Forwards one speaker's Opus RTP (as received, re-stamped) to a UDP port; resolves to a stop function. */
  tapSpeaker(talkId: string, participantId: string, target: RtpTarget): Promise<() => Promise<void>>;
  /**
   * Sends a caption to everyone in the room (shown live in the page). `interim`: the text so far of a
   * phrase still being spoken (seq 0; replaced by the next interim or the final caption of that speaker).
   */
  broadcastCaption(talkId: string, caption: CaptionView): void;
  /** Who is in the talk's room on this node now. */
  participants(talkId: string): Present[];
  /** Whether this node hosts the talk's room now. */
  hostsRoom(talkId: string): boolean;
  /** The public URL of the node hosting the talk's room when another node hosts it; null when this node does or none does. */
  hostedElsewhere(talkId: string): Promise<string | null>;
  /** Who is in a live talk now, wherever its room is hosted (the dashboard and the pre-join page show it). */
  present(talk: Pick<Talk, 'id' | 'partner_id'>): Promise<Present[]>;
}
