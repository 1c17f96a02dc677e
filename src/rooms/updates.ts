/**
 * State refresh batching: what changed in a room goes to its sockets in coalesced updates, the whole
 * room's changes to those who see everyone (every 50 ms), the stage's and the counts to those shown
 * the stage (Room.seesStage: the audience tier, a hosted event's listeners), less often the more they are.
 */
import type { Room } from './room.js';

const UPDATE_COALESCE_MS = 50;
/** The stage view's sockets get its changes at most this often (ws costs ~12 µs a message: 10,000 sockets, 240 ms of a core a second at most). */
const STAGE_UPDATE_MS = 500;
/** A larger room's update waits this much longer per 500 participants (at most UPDATE_COALESCE_MAX_MS). */
const UPDATE_COALESCE_MAX_MS = 500;

/** How long a room's update to the sockets that see everyone waits, by the room's size. */
export function updateDelay(participants: number): number {
  return Math.min(UPDATE_COALESCE_MAX_MS, UPDATE_COALESCE_MS * Math.max(1, Math.ceil(participants / 500)));
}

/**
 * How long the stage's update waits, by how many sockets it goes to: 50 ms up to 100 of them, then
 * longer, so that a room sends at most ~2,000 such messages a second (~25 ms of a core) until the
 * 500-ms cap, reached at 1,000 sockets. A small hosted event's listeners see a hand or a mute as
 * soon as the hosts do; a crowd's sockets are not sent one message per join.
 */
export function stageUpdateDelay(viewers: number): number {
  return Math.min(STAGE_UPDATE_MS, UPDATE_COALESCE_MS * Math.max(1, Math.ceil(viewers / 100)));
}

/**
 * What changed goes to everyone at most every UPDATE_COALESCE_MS (a burst of joins becomes one
 * update of a few participants), and less often in a very large room, where working out what
 * changed costs a pass over everyone. A full state goes only to the one who joins or resumes:
 * before updates, every join sent all n participants to all n sockets (measured in a room of 100:
 * about 2 MB of JSON per join, which the bench's listeners spent seconds parsing). A view nobody
 * is shown is not worked out.
 */
export function scheduleUpdate(room: Room) {
  if (room.closed || (room.stageTimer && room.updateTimer)) return;
  const viewers = room.viewers();
  if (!room.stageTimer && viewers.stage > 0)
    room.stageTimer = setTimeout(() => {
      room.stageTimer = null;
      const update = room.closed ? null : room.stageUpdate();
      if (update) room.broadcastToView(update, true);
    }, stageUpdateDelay(viewers.stage));
  if (room.updateTimer || viewers.room === 0) return;
  room.updateTimer = setTimeout(() => {
    room.updateTimer = null;
    const update = room.closed ? null : room.update();
    if (update) room.broadcastToView(update, false);
  }, updateDelay(room.participants.size));
}
