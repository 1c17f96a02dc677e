/** Speaking levels: the SFU's measurements kept per participant, and the 250 ms tick that sends each room its levels, slot changes and reactions. */
import type { SfuPool } from '../sfu/pool.js';
import type { Room } from './room.js';

/** How often rooms are sent who is audible. */
export const LEVELS_TICK_MS = 250;

/** The SFU's latest levels (participant id, 0..1), onto the participants present. */
export function recordLevels(levels: [string, number][], roomOf: (participantId: string) => Room | undefined) {
  for (const [id, level] of levels) {
    const p = roomOf(id)?.participants.get(id);
    if (p) p.level = level;
  }
}

/** One tick of one room: new slots to the workers and the room, the audible levels, the reactions taken since the last. */
export function tickLevels(room: Room, sfu: Pick<SfuPool, 'setSlots'>) {
  // Only who is audible: everyone missing is silent (the page reads a missing level as 0).
  const levels: Record<string, number> = {};
  let any = false;
  for (const p of room.participants.values()) {
    if (!room.publishing(p) || p.level <= 0.01) continue;
    levels[p.id] = p.level;
    any = true;
  }
  if (room.assignSlots()) {
    sfu.setSlots(room.talk.id, room.slots, [...room.participants.keys()]);
    room.broadcast({ type: 'slots', slots: room.slots });
  }
  if (any || room.levelsShown) room.broadcast({ type: 'levels', levels });
  room.levelsShown = any;
  const reactions = room.reactions.drain();
  if (reactions) room.broadcast(reactions);
}
