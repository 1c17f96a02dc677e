/** Negotiation: a participant's offer answered by the SFU (never from the audience tier), and the candidates they trickle after it. */
import type { SfuPool } from '../sfu/pool.js';
import type { IceCandidate } from '../sfu/protocol.js';
import { RoomError } from './errors.js';
import type { Participant, Room } from './room.js';

/** What negotiation asks of the live rooms that compose it. */
export interface MediaControl {
  /** Their peer connection (and speaking) ends; they stay in the room. */
  dropMedia(room: Room, p: Participant): void;
  /** After a change: the workers and everyone are told. */
  refresh(room: Room): void;
}

/** The SFU's answer to a participant's offer; their peer then exists (hasMedia) and may publish by the room's rules. */
export async function answerOffer(sfu: Pick<SfuPool, 'answer'>, rooms: MediaControl, room: Room, p: Participant, sdp: string): Promise<string> {
  if (p.tier === 'audience') throw new RoomError('not_allowed', 'you listen through the stream: no peer connection is taken from you now');
  let answer: string;
  try {
    answer = await sfu.answer(room.talk.id, p.id, sdp, room.publishing(p));
  } catch (err) {
    // The worker drops an offer whose participant left, or whose talk closed, while it waited
    // for a negotiation turn: an answer to that, not a failure of ours.
    if (room.closed) throw new RoomError('ended', 'this talk has ended');
    if (p.closed) throw new RoomError('bad_request', 'you left this talk');
    throw err;
  }
  p.hasMedia = true;
  if (p.closed || room.closed) {
    // Left or removed, or the talk closed, while the worker answered: the peer it made goes with them
    // (else it stayed in the worker, sent the talk's packets, until the talk closed).
    rooms.dropMedia(room, p);
    throw room.closed ? new RoomError('ended', 'this talk has ended') : new RoomError('bad_request', 'you left this talk');
  }
  if (p.onStream) {
    // Brought down to the stream while the worker answered.
    rooms.dropMedia(room, p);
    throw new RoomError('not_allowed', 'you listen through the stream: no peer connection is taken from you now');
  }
  rooms.refresh(room);
  return answer;
}

/** A candidate the client gathered after sending its offer (trickle ICE): to their peer, once it exists. */
export function addCandidate(sfu: Pick<SfuPool, 'addCandidate'>, p: Participant, candidate: IceCandidate) {
  if (p.hasMedia) sfu.addCandidate(p.id, candidate);
}
