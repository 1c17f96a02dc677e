/** The audience tier: which listeners hear the room over WebRTC and which through the talk's stream, and what each is told of it. */
import type { Config } from '../platform/config.js';
import { streamPath } from '../talks/json.js';
import type { MediaTier, RoomTierMessage } from './protocol.js';
import type { Participant, Room } from './room.js';

/** The settings the choice follows. */
export type TierRule = Pick<Config, 'LIVE_STREAM' | 'AUDIENCE_WEBRTC_LISTENERS'>;

/**
 * How a listener hears the room: on WebRTC, unless in a `hosted_events` talk that already has
 * AUDIENCE_WEBRTC_LISTENERS listeners on WebRTC (not counting them): then through the stream.
 */
export function listeningTier(rule: TierRule, room: Room, p: Participant): MediaTier {
  if (p.canSpeak || !rule.LIVE_STREAM || room.talk.room_type !== 'hosted_events') return 'webrtc';
  let onWebRtc = 0;
  for (const other of room.participants.values()) if (other !== p && !other.closed && !other.canSpeak && other.tier === 'webrtc') onWebRtc++;
  return onWebRtc >= rule.AUDIENCE_WEBRTC_LISTENERS ? 'audience' : 'webrtc';
}

/** The talk's stream, while it is live (a path: the page plays it from whichever node served it). */
export function streamUrl(rule: TierRule, room: Room): string | null {
  return rule.LIVE_STREAM && room.live ? streamPath(room.talk) : null;
}

/** What a participant was last told of their tier: a WebRTC peer needs no stream URL. */
export function tierKey(rule: TierRule, room: Room, p: Participant): string {
  return p.tier === 'audience' ? `audience ${streamUrl(rule, room)}` : 'webrtc';
}

/** The participant's tier, for `joined` or a `tier` message; remembered as told. */
export function tierMessage(rule: TierRule, room: Room, p: Participant): RoomTierMessage {
  p.shownTier = tierKey(rule, room, p);
  return { type: 'tier', tier: p.tier, hls_url: streamUrl(rule, room) };
}
