import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseHandle, SqlExecutor, Tx } from './db/index.js';

/**
 * The durable job queue (pg-boss) on the same database as everything else: Postgres, or
 * PGlite through the shared connection. Jobs are sent inside the transaction of the change that
 * causes them (`sendInTx`), so a crash can never keep the change and lose the job.
 */
export class Queue {
  readonly boss: PgBoss;
  /** pg-boss's schema. */
  readonly schema: string;
  private started = false;

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
  }
}
