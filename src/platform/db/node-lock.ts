import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from './index.js';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;
const HEARTBEAT_MS = 5_000;

/** The advisory-lock key of a node id (any node can work out another's). */
export function nodeLockKey(nodeId: string): string {
  return createHash('sha256').update(`smalltalk-node:${nodeId}`).digest().readBigInt64BE(0).toString();
}

/**
 * A node's life as the database sees it: the node holds a session-level advisory lock on a
 * connection of its own for as long as its process lives. Postgres lets the lock go the moment that
 * connection ends, so a node SIGKILLed (or crashed, or stopped) is known to be gone at once, while a
 * node that is merely slow (a long GC, a loaded machine, a stalled event loop) keeps holding it.
 * A host that vanishes without closing its connections is found by TCP keepalives (set short on the
 * session, ~25 s), by then the claim's heartbeat has gone stale anyway.
 */
export class NodeLock {
  private client: pg.Client | null = null;
  private key: string | null = null;
  private stopped = false;
  private wait = RECONNECT_MIN_MS;
  private retry: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Holds the lock of `nodeId` from now on (re-taken after a lost connection); resolves once held or the first try failed. */
  async hold(nodeId: string): Promise<void> {
    this.key = nodeLockKey(nodeId);
    await this.connect();
  }

  /** Whether the node with this id holds its lock now (false: its process has no session with the database). */
  async held(nodeId: string): Promise<boolean> {
    // Taken and given back in the same statement (a transaction-level lock): free means nobody holds it.
    const { rows } = await sql<{ free: boolean }>`select pg_try_advisory_xact_lock(${nodeLockKey(nodeId)}::bigint) as free`.execute(this.db);
    return rows[0]?.free === false;
  }

  async release(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }

  private lost(c: pg.Client, err: unknown) {
    if (this.client !== c) return;
    this.client = null;
    clearInterval(this.heartbeat);
    c.removeAllListeners();
    c.on('error', () => undefined);
    void c.end().catch(() => undefined);
    if (this.stopped) return;
    this.log.warn({ err, retryInMs: this.wait }, 'the connection holding this node’s liveness lock was lost; reconnecting');
    this.retry = setTimeout(() => void this.connect(), this.wait);
    this.wait = Math.min(this.wait * 2, RECONNECT_MAX_MS);
  }

  private async connect() {
    if (this.stopped || !this.key) return;
    // Named for operators who look for it in pg_stat_activity.
    const c = new pg.Client({ connectionString: this.connectionString, keepAlive: true, application_name: 'smalltalk node lock' });
    this.client = c;
    c.on('error', (err) => this.lost(c, err));
    c.on('end', () => this.lost(c, new Error('connection ended')));
    try {
      await c.connect();
      // Ignored on a Unix socket; on TCP, the server notices a vanished host in ~25 s, not hours.
      await c.query('set tcp_keepalives_idle = 10; set tcp_keepalives_interval = 5; set tcp_keepalives_count = 3');
      await c.query('select pg_advisory_lock($1::bigint)', [this.key]);
    } catch (err) {
      this.lost(c, err);
      return;
    }
    if (this.client !== c) return;
    this.wait = RECONNECT_MIN_MS;
    // A connection that died without an error (a half-open TCP connection) is found by a query.
    this.heartbeat = setInterval(() => {
      const timeout = setTimeout(() => this.lost(c, new Error('heartbeat timed out')), HEARTBEAT_MS / 2);
      c.query('select 1').then(
        () => clearTimeout(timeout),
        (err) => {
          clearTimeout(timeout);
          this.lost(c, err);
        },
      );
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }
}
