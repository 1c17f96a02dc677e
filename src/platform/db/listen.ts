import pg from 'pg';
import type { Logger } from 'pino';

/**
 * What a LISTEN subscriber hears. `up` means from now on every notification arrives; `down` means
 * some may be lost (the connection dropped), so anything kept on the strength of them must go.
 * After a reconnect comes `up` again: notifications sent while down are gone, so treat it as a
 * fresh start.
 */
export interface ListenHandlers {
  message(payload: string): void;
  up(): void;
  down(): void;
}

/** Stops listening (and, on Postgres, closes the connection). */
export type Unlisten = () => Promise<void>;

const HEARTBEAT_MS = 10_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * LISTEN on Postgres over a connection of its own (a pooled connection would lose the
 * subscription when released). A heartbeat query finds a connection that died without an error
 * (a half-open TCP connection, a failover); then `down`, and it reconnects with backoff.
 */
export function listenPostgres(connectionString: string, schema: string, channel: string, handlers: ListenHandlers, log: Logger): Unlisten {
  let client: pg.Client | null = null;
  let stopped = false;
  let wait = RECONNECT_MIN_MS;
  let heartbeat: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;

  const lost = (err: unknown) => {
    if (!client) return;
    const dead = client;
    client = null;
    clearInterval(heartbeat);
    handlers.down();
    dead.removeAllListeners();
    dead.on('error', () => {});
    void dead.end().catch(() => {});
    if (stopped) return;
    log.warn({ err, channel, retryInMs: wait }, 'LISTEN connection lost; reconnecting');
    retry = setTimeout(connect, wait);
    wait = Math.min(wait * 2, RECONNECT_MAX_MS);
  };

  const connect = async () => {
    // Named for operators (and tests) who look for it in pg_stat_activity.
    const c = new pg.Client({ connectionString, keepAlive: true, application_name: `smalltalk listen ${schema}` });
    client = c;
    c.on('error', lost);
    c.on('end', () => lost(new Error('connection ended')));
    c.on('notification', (n) => {
      if (n.channel === channel && n.payload !== undefined) handlers.message(n.payload);
    });
    try {
      await c.connect();
      await c.query(`listen ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      if (client === c) lost(err);
      return;
    }
    if (client !== c || stopped) return;
    wait = RECONNECT_MIN_MS;
    heartbeat = setInterval(() => {
      const timeout = setTimeout(() => client === c && lost(new Error('heartbeat timed out')), HEARTBEAT_MS / 2);
      c.query('select 1').then(
        () => clearTimeout(timeout),
        (err) => {
          clearTimeout(timeout);
          if (client === c) lost(err);
        },
      );
    }, HEARTBEAT_MS);
    heartbeat.unref();
    handlers.up();
  };

  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    if (client) lost(null);
  };
}
