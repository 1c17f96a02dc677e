import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseHandle, SqlExecutor, Tx } from './db/index.js';

/**
 * The durable job queue (pg-boss) on the same database as everything else: Postgres, or
 * PGlite through the shared connection. Jobs are sent inside the transaction of the change that
 * causes them (`sendInTx`), so a crash can never keep the change and lose the job.
 */
/** How long `stop` waits for job handlers still running after pg-boss's own graceful stop. */
const STOP_WAIT_MS = 20_000;

export class Queue {
  readonly boss: PgBoss;
  /** pg-boss's schema. */
  readonly schema: string;
  private started = false;
  /** Job handlers running now (see `work`). */
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly log: Logger,
    options: { schema?: string; supervise?: boolean } = {},
  ) {
    this.schema = options.schema ?? 'pgboss';
    this.boss = new PgBoss({
      db: handle.executor as PgBoss.Db,
      schema: this.schema,
      supervise: options.supervise ?? true,
      schedule: false,
      migrate: true,
    });
    this.boss.on('error', (err) => this.log.error({ err }, 'job queue error'));
  }

  async start(queues: string[]): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    for (const name of queues) {
      if (!(await this.boss.getQueue(name))) await this.boss.createQueue(name);
    }
    this.started = true;
  }

  /** Enqueues within `tx`: the job exists if and only if the transaction commits. */
  sendInTx<T extends object>(tx: Tx, name: string, data: T, options: PgBoss.SendOptions = {}) {
    return this.boss.send(name, data, { ...options, db: this.handle.executorFor(tx) as PgBoss.Db });
  }

  /**
   * Works `name`'s jobs with `handler` (pg-boss's `work`), keeping track of the handlers running, so
   * that `stop` can let them finish before the database closes: pg-boss marks a job done or failed
   * after its handler returns, and a pool closed under it was an unhandled rejection.
   */
  work<T extends object>(name: string, options: PgBoss.WorkOptions, handler: (job: PgBoss.Job<T>) => Promise<void>): Promise<string> {
    return this.boss.work<T>(name, { ...options, batchSize: 1 }, ([job]) => {
      const done = handler(job);
      const tracked = done.catch(() => undefined).finally(() => this.running.delete(tracked));
      this.running.add(tracked);
      return done;
    });
  }

  send<T extends object>(name: string, data: T, options: PgBoss.SendOptions = {}) {
    return this.boss.send(name, data, options);
  }

  executor(tx: Tx): SqlExecutor {
    return this.handle.executorFor(tx);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: 5000 });
    // A handler still running past pg-boss's wait gets up to STOP_WAIT_MS more, then a moment for
    // pg-boss to record its outcome; a job cut short is retried after its expiry, as after a crash.
    if (this.running.size > 0) {
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
