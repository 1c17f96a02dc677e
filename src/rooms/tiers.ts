/** The audience tier: which listeners hear the room over WebRTC and which through the talk's stream, and what each is told of it. */
import type { Config } from '../platform/config.js';
import { streamPath } from '../talks/json.js';
import type { MediaTier, RoomTierMessage } from './protocol.js';
import type { Participant, Room } from './room.js';

/** The settings the choice follows. */
export type TierRule = Pick<Config, 'LIVE_STREAM' | 'AUDIENCE_WEBRTC_LISTENERS'>;

/** How many listeners of the room may hear it over WebRTC: the talk's own setting, else the server's. */
export function webrtcListenerLimit(rule: TierRule, room: Room): number {
  return room.talk.webrtc_listener_limit ?? rule.AUDIENCE_WEBRTC_LISTENERS;
}

/** Listeners (not on stage) hearing the room over WebRTC, `except` one. */
function webrtcListeners(room: Room, except?: Participant): number {
  let n = 0;
  for (const other of room.participants.values()) if (other !== except && !other.closed && !other.canSpeak && other.tier === 'webrtc') n++;
  return n;
}

/**
 * How a listener hears the room: on WebRTC, unless in a `hosted_events` talk that already has its
 * limit of listeners on WebRTC (not counting them; webrtcListenerLimit): then through the stream.
 */
export function listeningTier(rule: TierRule, room: Room, p: Participant): MediaTier {
  if (p.canSpeak || !rule.LIVE_STREAM || room.talk.room_type !== 'hosted_events') return 'webrtc';
  return webrtcListeners(room, p) >= webrtcListenerLimit(rule, room) ? 'audience' : 'webrtc';
}

/**
 * After the talk's limit was raised: listeners on the stream move to WebRTC, first come first, up to
 * the new limit; those who asked for the stream themselves (their WebRTC failed) stay on it. A
 * lowered limit moves nobody off WebRTC: it applies to the next listeners.
 */
export function admitToWebRtc(rule: TierRule, room: Room): void {
  if (room.talk.room_type !== 'hosted_events') return;
  let free = webrtcListenerLimit(rule, room) - webrtcListeners(room);
  for (const p of room.participants.values()) {
    if (free <= 0) return;
    if (p.closed || p.tier !== 'audience' || p.streamChosen) continue;
    p.tier = 'webrtc';
    free--;
  }
}

/** The talk's stream, while it is live (a path: the page plays it from whichever node served it). */
export function streamUrl(rule: TierRule, room: Room): string | null {
  return rule.LIVE_STREAM && room.live ? streamPath(room.talk) : null;
}

/** What a participant was last told of their tier: a WebRTC peer needs no stream URL. */
export function tierKey(rule: TierRule, room: Room, p: Participant): string {
  return p.tier === 'audience' ? `audience ${streamUrl(rule, room)}` : 'webrtc';
}

/**
 * The participant's tier, for `joined` or a `tier` message; remembered as told. Only a participant
 * on the stream is given its URL (whose key is its only access check): a WebRTC one asks for the
 * stream if its peer cannot connect (`listen_by_stream`) and is told it then.
 */
export function tierMessage(rule: TierRule, room: Room, p: Participant): RoomTierMessage {
  p.shownTier = tierKey(rule, room, p);
  return { type: 'tier', tier: p.tier, hls_url: p.tier === 'audience' ? streamUrl(rule, room) : null };
}
