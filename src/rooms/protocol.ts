/**
 * The room socket's protocol: every message a client sends (`ClientMessage`), every message the
 * server sends (`ServerMessage`) and the codes it closes with (`CloseCode`). The server checks what
 * comes in against it (messages.ts); the talk page (web/src/talk), the bots (src/bot) and the tests
 * speak it through one client (client.ts). This file imports nothing so all of them can.
 *
 * What the server tells its clients about the room: who is in it, the hand queue, the speaker slots
 * and the talk. A client gets the whole room (`state`) when it joins or resumes, then only what
 * changed (`update`): a join in a room of n costs every socket one participant, not n.
 */

/**
 * The room socket of a talk page: ws(s)://host/t/<code>/ws, from the page's address (its short URL,
 * or a join URL with its #token) or a node's address with the talk's path.
 */
export function roomSocketUrl(pageUrl: string | URL): string {
  const page = new URL(pageUrl);
  const code = page.pathname.replace(/^\/t\//, '').replace(/\/$/, '');
  return `${page.protocol === 'https:' ? 'wss' : 'ws'}://${page.host}/t/${code}/ws`;
}

/** One participant as every client sees them. */
export interface ParticipantView {
  id: string;
  name: string;
  username: string | null;
  photo_url: string | null;
  role: 'host' | 'speaker' | 'listener';
  can_speak: boolean;
  muted: boolean;
  hand_raised: boolean;
  connected: boolean;
}

/** The talk as the room shows it. */
export interface TalkView {
  id: string;
  name: string;
  status: string;
  room_type: string;
  mic_behavior: string;
  start_time: string | null;
  end_time: string | null;
  live: boolean;
}

/** The whole room. */
export interface RoomView {
  talk: TalkView;
  /** In the order they joined. */
  participants: ParticipantView[];
  /** Raised hands, first raised first. */
  hands: string[];
  /** Who is heard in each of the client's receive slots. */
  slots: (string | null)[];
  /** The question queue (rooms of type `questions`; empty otherwise), in the order asked. */
  questions: QuestionView[];
  /** How many are in the room (the stage view's `participants` list only the stage). */
  counts: RoomCounts;
}

/** How many are in the room: everyone, those who may speak, those listening through the stream. */
export interface RoomCounts {
  participants: number;
  speakers: number;
  audience: number;
}

/**
 * The whole room, sent to a client when it joins, resumes or is shown the room another way. In the
 * stage view (the audience tier, and everyone but the hosts of a `hosted_events` talk), `participants`
 * is the stage (hosts, whoever may speak, raised hands), its updates come every 50–500 ms by how many
 * get them, and `counts` says how many are in the room.
 */
export interface RoomStateMessage extends RoomView {
  type: 'state';
}

/**
 * What changed since the previous update: participants who joined or changed (whole), who left,
 * and the talk, hands or slots when they changed. Applying it twice is harmless.
 */
export interface RoomUpdateMessage {
  type: 'update';
  participants: ParticipantView[];
  left: string[];
  talk?: TalkView;
  hands?: string[];
  slots?: (string | null)[];
  questions?: QuestionView[];
  counts?: RoomCounts;
}

/** The room after `update`: a new object (the old one is not changed). */
export function applyUpdate(room: RoomView, update: RoomUpdateMessage): RoomView {
  const changed = new Map(update.participants.map((p) => [p.id, p]));
  const left = new Set(update.left);
  const participants: ParticipantView[] = [];
  for (const p of room.participants) {
    if (left.has(p.id)) continue;
    participants.push(changed.get(p.id) ?? p);
    changed.delete(p.id);
  }
  for (const p of changed.values()) if (!left.has(p.id)) participants.push(p);
  return {
    talk: update.talk ?? room.talk,
    participants,
    hands: update.hands ?? room.hands,
    slots: update.slots ?? room.slots,
    questions: update.questions ?? room.questions,
    counts: update.counts ?? room.counts,
  };
}

/** Someone a host removed from the talk (a ban for the talk), as hosts see them. */
export interface RemovedPerson {
  id: string;
  name: string;
  removed_at: string;
}

/**
 * To hosts only: who is removed from the talk now (on joining, and after every removal or lift).
 * A host lifts a ban with `{ type: 'lift_ban', ban: id }`.
 */
export interface RoomBansMessage {
  type: 'bans';
  bans: RemovedPerson[];
}

/** The reactions a client may send: a fixed set, so nothing else can be broadcast to the room. */
export const REACTIONS = ['👏', '❤️', '😂', '😮', '🎉', '👍'] as const;
export type Reaction = (typeof REACTIONS)[number];

/** Sent by a client: `{ type: 'react', emoji }`. Not stored; at most a few per second per participant. */
export interface ReactMessage {
  type: 'react';
  emoji: Reaction;
}

/** To everyone, at most every 250 ms: the reactions sent since the last one (at most 100). */
export interface RoomReactionsMessage {
  type: 'reactions';
  reactions: { participant_id: string; emoji: Reaction }[];
}

/** The longest question, in characters (code points). */
export const QUESTION_MAX_CHARS = 280;

/** A question in a `questions` room: asked (open), its asker on stage answering it (on_stage), or answered. */
export interface QuestionView {
  id: string;
  /** The asker (null once they left and the room was re-opened since: the text stays, the person is gone). */
  participant_id: string | null;
  name: string;
  text: string;
  status: 'open' | 'on_stage' | 'answered';
  asked_at: string;
}

/**
 * A client's questions: anyone asks (`ask`, in `questions` rooms); only hosts pick one (its asker is
 * brought on stage, whoever answered before goes back to listening) and mark it answered (the asker
 * goes back to listening); the asker withdraws an open question of their own, a host removes any.
 */
export type QuestionMessage =
  | { type: 'ask'; text: string }
  | { type: 'pick_question'; question: string }
  | { type: 'finish_question'; question: string }
  | { type: 'remove_question'; question: string };

/**
 * How a participant hears the room: `webrtc`, a peer of the SFU (everyone on stage, and listeners
 * up to AUDIENCE_WEBRTC_LISTENERS), or `audience`, the talk's LL-HLS stream of its stage (a second or
 * two behind, no peer connection: listeners of a `hosted_events` talk past that many, and listeners
 * whose peer connection could not connect). Audience members are participants like the others.
 */
export type MediaTier = 'webrtc' | 'audience';

/**
 * The first answer to `join`: who the client is in the room, how to resume, and how it hears the room.
 * `tier: 'audience'`: the client plays `hls_url` and sends no offer (one is refused).
 */
export interface RoomJoinedMessage {
  type: 'joined';
  participant_id: string;
  resume: string;
  resumed: boolean;
  /** Receive slots an offer carries (webrtc). */
  slots: number;
  ice_servers: { urls: string[]; username?: string; credential?: string }[];
  tier: MediaTier;
  /** The talk's stream (a path on this server, which any node answers) while the talk is live and the client is on the audience tier; null otherwise. */
  hls_url: string | null;
}

/**
 * To one participant, when how they hear the room changes: brought on stage (`webrtc`: the client
 * offers, as after `joined`), brought down while the talk is past its WebRTC listeners (`audience`:
 * the client closes its peer connection and plays the stream), the talk going live (`hls_url` set).
 */
export interface RoomTierMessage {
  type: 'tier';
  tier: MediaTier;
  /** As in `joined`: set for the audience tier only. */
  hls_url: string | null;
}

/**
 * Sent by a listener whose peer connection could not connect: `{ type: 'listen_by_stream' }`. The
 * server drops its media and answers with `tier` (`audience`); refused to those who may speak.
 */
export interface ListenByStreamMessage {
  type: 'listen_by_stream';
}

// ---- every message, both ways

/** A candidate the client gathered after its offer (trickle ICE), as RTCIceCandidate.toJSON() gives it. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/**
 * The first message on a socket: who joins (a join token, an invite or a guest's name; a member's
 * session cookie makes them host), or who comes back (`resume`, the secret `joined` gave).
 * `session`: what a node that sent the client here vouched for (the `redirect` it got).
 */
export interface JoinMessage {
  type: 'join';
  name?: string;
  username?: string;
  photo_url?: string;
  token?: string;
  invite?: string;
  resume?: string;
  device?: string;
  session?: string;
}

/** A host's move on a participant: their mic, the stage, or out of the talk (a ban). */
export type ModerateAction = 'mute' | 'bring_up' | 'bring_down' | 'remove';
export const MODERATE_ACTIONS: readonly ModerateAction[] = ['mute', 'bring_up', 'bring_down', 'remove'];

/** Every message a client may send (src/rooms/README.md says who may send which). */
export type ClientMessage =
  | JoinMessage
  /** `id`: echoed in the answer, so a client that offered again (the room changed) can tell a stale answer. */
  | { type: 'offer'; sdp: string; id?: number }
  /** null: the end of the candidates, or one the server cannot use (both ignored). */
  | { type: 'candidate'; candidate: IceCandidateInit | null }
  | { type: 'leave' }
  | { type: 'ping' }
  | { type: 'mute'; muted: boolean }
  | { type: 'hand'; raised: boolean }
  | ReactMessage
  | QuestionMessage
  | { type: 'moderate'; action: ModerateAction; target: string }
  | { type: 'lift_ban'; ban: string }
  | { type: 'start' }
  | { type: 'end' }
  | ListenByStreamMessage;

/** The codes of `error`: a refusal in the room's words, or a failure of ours (`internal_error`). */
export type RoomErrorCode =
  | 'ended'
  | 'removed'
  | 'invite_required'
  | 'invalid_token'
  | 'invalid_invite'
  | 'bad_request'
  | 'not_allowed'
  | 'not_found'
  | 'rate_limited'
  | 'forbidden'
  | 'internal_error';

/** What the server refused, and why (nothing changed). Before `joined`: the join was refused. */
export interface RoomErrorMessage {
  type: 'error';
  code: RoomErrorCode;
  message: string;
}

/** Another node hosts the talk: join again at `ws_url`, sending `session` with the join. */
export interface RoomRedirectMessage {
  type: 'redirect';
  ws_url: string;
  session?: string;
}

/** A live caption line (interim ones are replaced by the next line of the same speaker). */
export interface CaptionView {
  seq: number;
  participantId: string;
  name: string;
  text: string;
  timestamp: string;
  interim?: boolean;
}

/** Every message the server sends. */
export type ServerMessage =
  | RoomJoinedMessage
  | RoomRedirectMessage
  | RoomErrorMessage
  | RoomStateMessage
  | RoomUpdateMessage
  | RoomTierMessage
  | RoomBansMessage
  | RoomReactionsMessage
  /** `id`: the offer's, when it had one. */
  | { type: 'answer'; sdp: string; id?: number }
  | { type: 'pong' }
  /** Who is audible now, 0..1 (a participant missing is silent): every 250 ms while anyone speaks. */
  | { type: 'levels'; levels: Record<string, number> }
  | { type: 'slots'; slots: (string | null)[] }
  | { type: 'caption'; caption: CaptionView }
  /** The talk ended (or was deleted): the socket closes with CloseCode.ended. */
  | { type: 'ended'; reason: 'ended' | 'deleted' }
  /** A host removed this participant: the socket closes with CloseCode.refused. */
  | { type: 'removed'; message: string };

/** The server message of one type. */
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;

/** How the server closes a room socket, and what each means to the client. */
export const CloseCode = {
  /** The client sent `leave`. */
  left: 1000,
  /** This node cannot take the join now (stopping, or no node to send it to): try again shortly. */
  tryAgain: 1013,
  /** The talk ended: do not reconnect. */
  ended: 4000,
  /** The same participant joined again on another socket: this one is done, do not reconnect. */
  replaced: 4001,
  /** The page's origin may not open this room's socket, or a host removed the participant: do not reconnect. */
  refused: 4003,
  /** The room moved to another node, or this node is restarting: reconnect (resume). */
  reconnect: 4004,
  /** Another node hosts the talk (after `redirect`): join there. */
  redirected: 4005,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** A close after which the client must not come back on its own (ended, replaced, refused or removed). */
export function isFinalClose(code: number): boolean {
  return code === CloseCode.ended || code === CloseCode.replaced || code === CloseCode.refused;
}
