import { REACTIONS, type Reaction, type RoomReactionsMessage } from './protocol.js';

/** A participant may send this many reactions at once... */
export const REACTION_BURST = 5;
/** ...and then one every this many ms: a held-down key or a scripted client cannot flood the room. */
export const REACTION_REFILL_MS = 500;
/** At most this many reactions go out per broadcast (every 250 ms): in a crowd, the rest are dropped. */
export const REACTIONS_PER_BROADCAST = 100;

const allowed = new Set<string>(REACTIONS);

export function isReaction(value: unknown): value is Reaction {
  return typeof value === 'string' && allowed.has(value);
}

/**
 * A room's reactions: ephemeral (never stored), limited per participant by a token bucket, gathered
 * between broadcasts so that a burst from a crowd costs each socket one message per tick, not one per
 * reaction.
 */
export class RoomReactions {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private pending: RoomReactionsMessage['reactions'] = [];

  /** Takes a participant's reaction if their bucket allows it (false: dropped). */
  add(participantId: string, emoji: Reaction, now = Date.now()): boolean {
    const b = this.buckets.get(participantId) ?? { tokens: REACTION_BURST, at: now };
    b.tokens = Math.min(REACTION_BURST, b.tokens + (now - b.at) / REACTION_REFILL_MS);
    b.at = now;
    this.buckets.set(participantId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    if (this.pending.length < REACTIONS_PER_BROADCAST) this.pending.push({ participant_id: participantId, emoji });
    return true;
  }

  /** Someone left: their bucket goes. */
  forget(participantId: string) {
    this.buckets.delete(participantId);
  }

  /** Reactions taken and not yet broadcast. */
  get waiting() {
    return this.pending.length;
  }

  /** The reactions gathered since the last call, as a message (null: none). */
  drain(): RoomReactionsMessage | null {
    if (this.pending.length === 0) return null;
    const message: RoomReactionsMessage = { type: 'reactions', reactions: this.pending };
    this.pending = [];
    return message;
  }
}
