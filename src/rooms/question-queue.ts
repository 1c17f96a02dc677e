import type { QuestionView } from './protocol.js';

/** A room's question queue as everyone sees it, in the order asked. */
export class QuestionQueue {
  private readonly items = new Map<string, QuestionView>();
  /** Loaded from the database once, when the room opens (a restarted node's room gets its queue back). */
  loaded: Promise<void> | null = null;
  /** The room's writes, one after another (a pick and its finish must not be stored in reverse). */
  saving: Promise<void> = Promise.resolve();

  view(): QuestionView[] {
    return [...this.items.values()];
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
    return this.view().find((q) => q.status === 'on_stage');
  }
}
