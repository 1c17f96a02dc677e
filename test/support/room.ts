import { WebSocket } from 'ws';
import { RoomRefusal, RoomSocket } from '../../src/rooms/client.js';
import { type JoinMessage, roomSocketUrl } from '../../src/rooms/protocol.js';

/**
 * Joins a talk's room over its real WebSocket through the room client (src/rooms/client.ts), as the
 * talk page does, without media: resolves on `joined`; rejects with the room's `error` message (its
 * JSON), or when the socket closes first (a redirect too: no other node here).
 */
export async function joinRoom(shortUrl: string, message: Record<string, unknown>, headers: Record<string, string> = {}, from?: { localAddress: string }) {
  const socket = new WebSocket(roomSocketUrl(shortUrl), { headers, ...from });
  const room = new RoomSocket(socket);
  // Everything from the first message on: the room's state may come in the same read as `joined`.
  const messages: Record<string, any>[] = [];
  room.onMessage((m) => messages.push(m));
  // As sent: a test may send what no typed client would.
  const joined = await room.join(message as Omit<JoinMessage, 'type'>).catch((err: unknown) => {
    if (err instanceof RoomRefusal) throw new Error(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
    throw err;
  });
  if (joined.type !== 'joined') throw new Error(`sent on to ${joined.ws_url}`);
  return { socket, room, participantId: joined.participant_id, resume: joined.resume, messages };
}

/** Every message a room socket receives from now on, and its close code once it closed. */
export function socketInbox(socket: WebSocket) {
  const room = new RoomSocket(socket);
  const messages: Record<string, any>[] = [];
  room.onMessage((m) => messages.push(m));
  return { messages, closed: () => room.closed?.code ?? null };
}
