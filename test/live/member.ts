import assert from 'node:assert/strict';
import { type RoomView, type ServerMessage, applyUpdate } from '../../src/rooms/protocol.js';
import { joinRoom, socketInbox } from '../support/room.js';
import { waitFor } from '../support/wait.js';

/** One room socket and the room as it saw it (state, then updates), plus everything else it got. */
export async function member(shortUrl: string, join: Record<string, unknown>) {
  const joined = await joinRoom(shortUrl, join);
  const inbox = socketInbox(joined.socket);
  let room: RoomView | null = null;
  const apply = (m: ServerMessage) => {
    if (m.type === 'state') room = m;
    if (m.type === 'update' && room) room = applyUpdate(room, m);
  };
  // What came with `joined` (the state, often), then the rest as it comes.
  for (const m of joined.messages) apply(m as ServerMessage);
  joined.room.onMessage(apply);
  const send = (m: Record<string, unknown>) => joined.socket.send(JSON.stringify(m));
  return {
    ...joined,
    inbox,
    send,
    room: () => room,
    /** Waits until the room this socket sees satisfies `check`. */
    sees: (check: (r: RoomView) => unknown, what: string) => waitFor(() => room && check(room), what),
    /** Sends `m` and resolves with the error it earned (or fails once a ping's pong came back first). */
    refused: async (m: Record<string, unknown>) => {
      const from = inbox.messages.length;
      send(m);
      send({ type: 'ping' });
      const answer = await waitFor(() => inbox.messages.slice(from).find((x) => x.type === 'error' || x.type === 'pong'), `an answer to ${m.type}`);
      assert.equal(answer.type, 'error', `${JSON.stringify(m)} was refused`);
      return answer as { code: string; message: string };
    },
  };
}
