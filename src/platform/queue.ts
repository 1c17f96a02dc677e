import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseHandle, Tx } from './db/index.js';

/** How long `stop` waits for job handlers still running after pg-boss's own graceful stop. */
const STOP_WAIT_MS = 20_000;

/** A job fetched from a queue (active in pg-boss until completed). */
export type QueueJob<T> = PgBoss.Job<T>;

/** A job to insert: its data, when it may start, and pg-boss's retry and expiry options. */
/**
 * How long a job waiting to run is kept. pg-boss deletes waiting jobs past their queue's retention
 * (14 days unless set): a server stopped for longer lost what it had accepted (a webhook delivery
 * stayed pending for good). Ten years: a waiting job is work owed, not a log to prune.
 */
const KEEP_WAITING_MINUTES = 10 * 365 * 24 * 60;

export interface JobToInsert<T> extends Pick<PgBoss.JobInsert<T>, 'retryLimit' | 'retryDelay' | 'expireInSeconds'> {
  data: T;
  startAfter?: Date;
}

/**
 * The durable job queue (pg-boss) on the same database as everything else: Postgres, or
 * PGlite through the shared connection. Jobs are sent inside the transaction of the change that
 * causes them (`sendInTx`, `insertInTx`), so a crash can never keep the change and lose the job.
 * Every statement on pg-boss's own tables lives here, behind the methods below.
 */
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
      const queue = await this.boss.getQueue(name);
      const options = { name, retentionMinutes: KEEP_WAITING_MINUTES };
      if (!queue) await this.boss.createQueue(name, options);
      else if (queue.retentionMinutes !== KEEP_WAITING_MINUTES) {
        await this.boss.updateQueue(name, options);
        // The queue's retention applies to jobs inserted from now on: those already waiting keep theirs.
        await this.handle.executor.executeSql(
          `update ${quoteIdent(this.schema)}.job set keep_until = greatest(keep_until, start_after + make_interval(mins => $2))
            where name = $1 and state < 'active'`,
          [name, KEEP_WAITING_MINUTES],
        );
      }
    }
    this.started = true;
  }

  /** Enqueues within `tx`: the job exists if and only if the transaction commits. */
  sendInTx<T extends object>(tx: Tx, name: string, data: T, options: PgBoss.SendOptions = {}) {
    return this.boss.send(name, data, { ...options, db: this.executorFor(tx) });
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

  /** Inserts jobs into `name` within `tx`, in one statement: they exist if and only if `tx` commits. */
  async insertInTx<T extends object>(tx: Tx, name: string, jobs: JobToInsert<T>[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.boss.insert(
      jobs.map((job) => ({ name, ...job })),
      { db: this.executorFor(tx) },
    );
  }

  /** Takes up to `batchSize` jobs of `name` that are due, making them active (pg-boss's `fetch`). */
  fetch<T>(name: string, batchSize: number): Promise<QueueJob<T>[]> {
    return this.boss.fetch<T>(name, { batchSize });
  }

  /** Marks jobs of `name` done. */
  async complete(name: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.boss.complete(name, ids);
  }

  /**
   * Marks jobs of `name` done within `tx`. pg-boss's complete() reads its third argument as output
   * data, so the connection option must be the fourth: passed third, it would run on the shared
   * connection, which on PGlite waits forever for the transaction that is waiting for it.
   */
  async completeInTx(tx: Tx, name: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const complete = this.boss.complete.bind(this.boss) as unknown as (
      name: string,
      ids: string[],
      data: null,
      options: PgBoss.ConnectionOptions,
    ) => Promise<unknown>;
    await complete(name, ids, null, { db: this.executorFor(tx) });
  }

  /** Puts these active jobs of `name` back in the queue, due now (jobs fetched but never started). Returns how many. */
  releaseActive(name: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.retryActive(name, 'id = any($2::uuid[])', [ids]);
  }

  /**
   * Renews the lease of these active jobs of `name`: their expiry counts from now again. For jobs a
   * worker fetched and holds, not started yet, so that they are not taken for a dead worker's and
   * fetched again (sent twice) while they wait their turn. Returns how many.
   */
  async renewActive(name: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.handle.executor.executeSql(
      `update ${quoteIdent(this.schema)}.job set started_on = now() where name = $1 and state = 'active' and id = any($2::uuid[]) returning id`,
      [name, ids],
    );
    return result.rows.length;
  }

  /**
   * Puts active jobs of `name` whose worker died back in the queue, due now: those past their
   * expiry, or every active one (`everyActive`: when no other worker can be alive). pg-boss's own
   * maintenance recovers expired jobs too, but only every 2 min. Returns how many.
   */
  reclaimActive(name: string, options: { everyActive: boolean }): Promise<number> {
    return this.retryActive(name, options.everyActive ? 'true' : 'started_on + expire_in < now()', []);
  }

  private async retryActive(name: string, condition: string, values: unknown[]): Promise<number> {
    const result = await this.handle.executor.executeSql(
      `update ${quoteIdent(this.schema)}.job set state = 'retry', start_after = now()
        where name = $1 and state = 'active' and ${condition} returning id`,
      [name, ...values],
    );
    return result.rows.length;
  }

  /** The executor pg-boss takes as its `db` option, bound to `tx`. */
  private executorFor(tx: Tx): PgBoss.Db {
    return this.handle.executorFor(tx) as PgBoss.Db;
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

/** A quoted SQL identifier. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
