/** The server's side of the room protocol (protocol.ts): what a client sends, checked into a `ClientMessage`; what the server sends, typed. */
import type { WebSocket } from 'ws';
import { RoomError } from './errors.js';
import { type ClientMessage, type IceCandidateInit, MODERATE_ACTIONS, QUESTION_MAX_CHARS, type ServerMessage } from './protocol.js';
import { isReaction } from './reactions.js';

const actions = new Set<string>(MODERATE_ACTIONS);

/**
 * One frame from a client as a `ClientMessage`, or a RoomError('bad_request') saying what is wrong.
 * Fields a message does not have are dropped; the join's optional fields are dropped when they are not
 * strings (as an absent one). What a field's value means (a question's length, who may act) is the
 * room's to check.
 */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RoomError('bad_request', 'messages are JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RoomError('bad_request', 'a message is a JSON object with its type');
  const m = raw as Record<string, unknown>;
  const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
  const required = (k: string, what: string) => {
    const value = str(k);
    if (value === undefined) throw new RoomError('bad_request', what);
    return value;
  };
  const type = m.type;
  switch (type) {
    case 'join':
      return {
        type,
        name: str('name'),
        username: str('username'),
        photo_url: str('photo_url'),
        token: str('token'),
        invite: str('invite'),
        resume: str('resume'),
        device: str('device'),
        session: str('session'),
      };
    case 'offer': {
      const sdp = required('sdp', 'an offer carries its sdp');
      // An id the client numbers its offers by (echoed in the answer); one that is not a safe integer is dropped.
      return Number.isSafeInteger(m.id) ? { type, sdp, id: m.id as number } : { type, sdp };
    }
    case 'candidate':
      return { type, candidate: candidateOf(m.candidate) };
    case 'leave':
    case 'ping':
    case 'start':
    case 'end':
    case 'listen_by_stream':
      return { type };
    case 'mute':
      // Anything but an explicit false mutes (the safe side).
      return { type, muted: m.muted !== false };
    case 'hand':
      return { type, raised: Boolean(m.raised) };
    case 'react': {
      if (!isReaction(m.emoji)) throw new RoomError('bad_request', 'not a reaction this room takes');
      return { type, emoji: m.emoji };
    }
    case 'ask':
      return { type, text: required('text', `a question is 1 to ${QUESTION_MAX_CHARS} characters`) };
    case 'pick_question':
    case 'finish_question':
    case 'remove_question':
      return { type, question: required('question', 'which question? (`question`: its id)') };
    case 'moderate': {
      const action = m.action;
      if (typeof action !== 'string' || !actions.has(action)) throw new RoomError('bad_request', 'unknown action');
      return { type, action: action as (typeof MODERATE_ACTIONS)[number], target: required('target', 'whom? (`target`: a participant id)') };
    }
    case 'lift_ban':
      return { type, ban: required('ban', 'which removal? (`ban`: its id)') };
    default:
      throw new RoomError('bad_request', `unknown message ${typeof type === 'string' ? type.slice(0, 40) : String(type)}`);
  }
}

/** A trickled candidate the SFU can take, or null (the end of candidates, or a malformed one: ignored, never an error). */
function candidateOf(value: unknown): IceCandidateInit | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Record<string, unknown>;
  if (typeof c.candidate !== 'string' || c.candidate.length > 1024) return null;
  return {
    candidate: c.candidate,
    sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
    sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
  };
}

/** One message to one socket, if it is open. */
export function sendMessage(socket: WebSocket, message: ServerMessage): boolean {
  if (socket.readyState !== 1) return false;
  socket.send(JSON.stringify(message));
  return true;
}
