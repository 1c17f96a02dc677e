import type { QuestionView } from './protocol.js';

/** Answered questions the room shows (the latest). */
export const ANSWERED_SHOWN = 20;

/** A room's question queue as everyone sees it, in the order asked. */
export class QuestionQueue {
  private readonly items = new Map<string, QuestionView>();
  /** Loaded from the database once, when the room opens (a restarted node's room gets its queue back). */
  loaded: Promise<void> | null = null;
  /** The room's writes, one after another (a pick and its finish must not be stored in reverse). */
  saving: Promise<void> = Promise.resolve();

  /**
   * What everyone is sent: every question waiting or on stage, and the latest answered ones (the
   * whole list goes out on every change, to every socket: an hour of answered questions need not).
   */
  view(): QuestionView[] {
    const all = [...this.items.values()];
    const answered = all.filter((q) => q.status === 'answered');
    const shown = new Set(answered.slice(-ANSWERED_SHOWN));
    return all.filter((q) => q.status !== 'answered' || shown.has(q));
  }

  get(id: unknown): QuestionView | undefined {
    return typeof id === 'string' ? this.items.get(id) : undefined;
  }

  put(q: QuestionView) {
    this.items.set(q.id, q);
  }

  delete(id: string) {
    this.items.delete(id);
  }

  get size() {
    return this.items.size;
  }

  /** The question whose asker is on stage answering it, if any. */
  onStage(): QuestionView | undefined {
    return [...this.items.values()].find((q) => q.status === 'on_stage');
  }
}
