import { WebSocket } from 'ws';
import { roomSocketUrl } from '../../src/rooms/protocol.js';

/**
 * Joins a talk's room over its real WebSocket, as the talk page does, without media: resolves on
 * `joined`; rejects with the room's `error` message (its JSON) or the socket's error.
 */
export async function joinRoom(shortUrl: string, message: Record<string, unknown>, headers: Record<string, string> = {}, from?: { localAddress: string }) {
  const socket = new WebSocket(roomSocketUrl(shortUrl), { headers, ...from });
  // Everything from the first message on: the room's state may come in the same read as `joined`.
  const messages: Record<string, any>[] = [];
  const joined = new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      messages.push(msg);
      if (msg.type === 'joined') resolve(msg);
      if (msg.type === 'error') reject(new Error(JSON.stringify(msg)));
    });
    socket.on('error', reject);
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'join', ...message })));
  const msg = await joined;
  return { socket, participantId: msg.participant_id as string, resume: msg.resume as string, messages };
}

/** Every message a room socket receives from now on, and its close code once it closed. */
export function socketInbox(socket: WebSocket) {
  const messages: Record<string, any>[] = [];
  let closeCode: number | null = null;
  socket.on('message', (raw) => messages.push(JSON.parse(String(raw))));
  socket.on('close', (code) => {
    closeCode = code;
  });
  return { messages, closed: () => closeCode };
}
