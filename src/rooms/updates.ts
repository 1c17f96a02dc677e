/** State refresh batching: what changed in a room goes to its sockets in coalesced updates (the WebRTC tier every 50 ms, the audience tier's stage every 500 ms). */
import type { Room } from './room.js';

const UPDATE_COALESCE_MS = 50;
/** The audience tier's sockets get the stage's changes at most this often (ws costs ~12 µs a message: 10,000 sockets, 240 ms of a core a second at most). */
const STAGE_UPDATE_MS = 500;
/** A larger room's update waits this much longer per 500 participants (at most UPDATE_COALESCE_MAX_MS). */
const UPDATE_COALESCE_MAX_MS = 500;

/** How long a room's WebRTC sockets' update waits, by the room's size. */
export function updateDelay(participants: number): number {
  return Math.min(UPDATE_COALESCE_MAX_MS, UPDATE_COALESCE_MS * Math.max(1, Math.ceil(participants / 500)));
}

/**
 * What changed goes to everyone at most every UPDATE_COALESCE_MS (a burst of joins becomes one
 * update of a few participants), and less often in a very large room, where working out what
 * changed costs a pass over everyone. A full state goes only to the one who joins or resumes:
 * before updates, every join sent all n participants to all n sockets (measured in a room of 100:
 * about 2 MB of JSON per join, which the bench's listeners spent seconds parsing).
 */
export function scheduleUpdate(room: Room) {
  if (room.closed) return;
  if (!room.stageTimer) {
    // The audience tier: what changed on the stage, and the counts, batched for its (many) sockets.
    room.stageTimer = setTimeout(() => {
      room.stageTimer = null;
      const update = room.closed || !room.hasAudience() ? null : room.stageUpdate();
      if (update) room.broadcastToTier(update, 'audience');
    }, STAGE_UPDATE_MS);
  }
  if (room.updateTimer) return;
  room.updateTimer = setTimeout(() => {
    room.updateTimer = null;
    const update = room.closed ? null : room.update();
    if (update) room.broadcastToTier(update, 'webrtc');
  }, updateDelay(room.participants.size));
}
