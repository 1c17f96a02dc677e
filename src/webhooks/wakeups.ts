/**
 * With nothing to do the loop polls less and less often, up to this. Jobs this process queues
 * wake it at once (an emit's nudge) or when they fall due (retries, deferrals); only jobs queued
 * elsewhere (another node, or a reclaim) wait for a poll. Polling every 50 ms took 5-6% of a core
 * on an idle embedded server (PGlite runs on the HTTP thread): 72-89 ms of CPU a second, 22 without.
 */
const IDLE_POLL_MAX_MS = 1000;
/** Due-time timers kept for `wakeAt` at most (beyond that, polling finds the jobs). */
const MAX_DUE = 10_000;
/** A nudge wakes the loop this soon, so a burst of emits makes one fetch. */
const NUDGE_MS = 3;

/**
 * When the delivery worker's loop looks at the queue next: at once after a nudge (an emit, a retry
 * or replay, a reclaim), when a job this process queued for later falls due, else on a poll that
 * backs off from `pollMs` to once a second while fetches find nothing.
 */
export class Wakeups {
  private running = false;
  private wake: (() => void) | null = null;
  private nudgeTimer: NodeJS.Timeout | null = null;
  /** A nudge that came while the loop was busy: the next sleep returns at once. */
  private nudged = false;
  /** The next sleep when a fetch finds nothing: pollMs after work, doubling to IDLE_POLL_MAX_MS. */
  private idleMs: number;
  /** One timer per job this process queued for later, firing when it falls due. */
  private readonly dueTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly pollMs: number) {
    this.idleMs = pollMs;
  }

  start() {
    this.running = true;
  }

  /** Stops every timer and wakes the loop, for it to see that the worker stopped. */
  stop() {
    this.running = false;
    if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
    for (const timer of this.dueTimers) clearTimeout(timer);
    this.dueTimers.clear();
    this.wake?.();
  }

  /** Asks the loop to poll soon. */
  nudge = () => {
    if (!this.running) return;
    this.idleMs = this.pollMs;
    if (!this.wake) this.nudged = true;
    if (this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      this.wake?.();
    }, NUDGE_MS);
  };

  /** Wakes the loop when a job queued for `at` falls due. */
  wakeAt(at: Date) {
    if (!this.running || this.dueTimers.size >= MAX_DUE) return;
    const timer = setTimeout(
      () => {
        this.dueTimers.delete(timer);
        this.nudge();
      },
      Math.min(2 ** 31 - 1, Math.max(0, at.getTime() - Date.now())),
    );
    timer.unref();
    this.dueTimers.add(timer);
  }

  /** Ends the loop's current sleep now (an attempt finished: slots are free). */
  wakeNow() {
    this.wake?.();
  }

  /** A fetch found work: the next idle poll starts again from `pollMs`. */
  busy() {
    this.idleMs = this.pollMs;
  }

  /** Sleeps until the next idle poll (backing off) or a wake-up, whichever comes first. */
  idle(): Promise<void> {
    const ms = this.idleMs;
    this.idleMs = Math.min(IDLE_POLL_MAX_MS, this.idleMs * 2);
    return this.sleep(ms);
  }

  /** Sleeps `ms` or until a wake-up; returns at once if a nudge came since the last sleep. */
  sleep(ms: number): Promise<void> {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
