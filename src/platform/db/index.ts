import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, type MigrationProvider, Migrator, PostgresDialect, type Transaction, sql } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { migrations } from './migrations/index.js';
import { PgliteDialect, PgliteMutex, PreparedStatements, runPglite } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Anything that runs queries: the database or a transaction. */
export type Queryable = Db | Tx;

/** The executor pg-boss uses (its `db` option). */
export interface SqlExecutor {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export class DataDirInUseError extends Error {}

export interface DatabaseHandle {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** For pg-boss: shares PGlite's single connection with Kysely. */
  executor: SqlExecutor;
  /** The same executor bound to a transaction, so a job is enqueued atomically with the change. */
  executorFor(tx: Tx): SqlExecutor;
  /** True when the database answers `select 1` within `timeoutMs` (readiness; never hangs). */
  ping(timeoutMs: number): Promise<boolean>;
  /**
   * Makes the database ready for migrations (on Postgres: connects and creates the schema).
   * Throws while the database is unreachable; the server retries it (`waitForDatabase`).
   */
  prepare(): Promise<void>;
  /** PGlite only: the whole database as a tarball, which `OpenOptions.fromSnapshot` opens a copy of. */
  snapshot?(): Promise<Blob>;
  close(): Promise<void>;
}

// pg returns int8 as text; our bigint columns (byte sizes) fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => v);

export interface OpenOptions {
  /** PGlite only: keep the database in memory (tests). */
  inMemory?: boolean;
  /**
   * PGlite in memory only: start from a copy of this snapshot (`DatabaseHandle.snapshot`) instead
   * of an empty database. The tests open every app from one migrated snapshot: creating an empty
   * PGlite database (its initdb) is most of an app's start-up.
   */
  fromSnapshot?: Blob;
  /** Postgres pool size. */
  poolSize?: number;
  /** Where a dropped pooled connection is reported (it is replaced on the next query). */
  log?: Logger;
}

/** How long a request waits for a pooled connection before it gets a 503. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Opens the configured database (PGlite under DATA_DIR, or Postgres at DATABASE_URL). */
export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<DatabaseHandle> {
  if (config.dbKind === 'postgres') return openPostgres(config, options);
  return openPglite(config, options);
}

async function openPostgres(config: Config, options: OpenOptions): Promise<DatabaseHandle> {
  const schema = config.DATABASE_SCHEMA;
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: options.poolSize ?? 20,
    options: schema === 'public' ? undefined : `-c search_path=${schema}`,
    // Named for operators (and the chaos tests) who look for it in pg_stat_activity.
    application_name: `smalltalk ${schema}`,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
  });
  // An idle connection that dies (Postgres restarted, pg_terminate_backend, a pooler's timeout)
  // is an 'error' event: without a listener it would end the process. The pool drops it and
  // opens a new one for the next query.
  pool.on('error', (err) =>
    options.log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'database connection lost; it is replaced on the next query'),
  );
  // A connection checked out by a transaction can die between two of its queries: the error goes
  // to the transaction's next query, and the client must not end the process meanwhile.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const executor: SqlExecutor = {
    executeSql: (text, values) => pool.query(text, values as unknown[]) as Promise<{ rows: unknown[] }>,
  };
  return {
    kind: 'postgres',
    db,
    executor,
    executorFor: (tx) => txExecutor(tx),
    // query_timeout fails the query and drops its connection, so a stalled database cannot
    // hold the pool's connections one readiness probe at a time.
    ping: (timeoutMs) => withTimeout(pool.query({ text: 'select 1', query_timeout: timeoutMs } as pg.QueryConfig), timeoutMs),
    prepare: async () => {
      if (schema !== 'public') await pool.query(`create schema if not exists ${schema}`);
    },
    close: async () => {
      await db.destroy();
    },
  };
}

async function openPglite(config: Config, options: OpenOptions): Promise<DatabaseHandle> {
  let releaseLock = () => {};
  let pglite: PGlite;
  const parsers = { 20: (v: string) => Number(v), 1700: (v: string) => v };
  if (options.inMemory) {
    pglite = await PGlite.create({ parsers, loadDataDir: options.fromSnapshot });
  } else {
    const dir = path.join(config.DATA_DIR, 'pgdata');
    mkdirSync(config.DATA_DIR, { recursive: true });
    releaseLock = lockDataDir(config.DATA_DIR);
    try {
      pglite = await PGlite.create(dir, { parsers });
    } catch (err) {
      releaseLock();
      throw err;
    }
  }
  const mutex = new PgliteMutex();
  // The session's prepared statements, Kysely's and pg-boss's (its fetch, polled) alike.
  const statements = new PreparedStatements();
  const db = new Kysely<Database>({ dialect: new PgliteDialect(pglite, mutex, statements) });
  const executor: SqlExecutor = {
    async executeSql(text, values = []) {
      const release = await mutex.acquire();
      try {
        return await runPglite(pglite, statements, text, values);
      } finally {
        release();
      }
    },
  };
  return {
    kind: 'pglite',
    db,
    executor,
    executorFor: (tx) => txExecutor(tx),
    ping: (timeoutMs) => withTimeout(sql`select 1`.execute(db), timeoutMs),
    prepare: async () => {},
    snapshot: async () => {
      const release = await mutex.acquire();
      try {
        return await pglite.dumpDataDir('none');
      } finally {
        release();
      }
    },
    close: async () => {
      await db.destroy();
      await pglite.close();
      releaseLock();
    },
  };
}

function txExecutor(tx: Tx): SqlExecutor {
  return {
    async executeSql(text, values = []) {
      const result = await tx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

/**
 * PGlite is one process at a time. A lock file names the holder so that the CLI can say
 * clearly that the server is running, instead of corrupting the data directory.
 */
function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirInUseError(
          `The embedded database in ${dataDir} is in use by process ${pid} (a running smalltalk server?). ` +
            'PGlite allows one process at a time: stop the server first, or use the HTTP API while it runs.',
        );
      }
      rmSync(file, { force: true }); // stale lock from a process that died
    }
  }
  throw new DataDirInUseError(`Could not lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Applies every pending migration; throws with the failing migration's name. */
export async function migrate(db: Db, schema = 'public'): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  // The schema is explicit: Kysely otherwise finds its lock table in any schema (e.g. public) and is fooled.
  const migrator = new Migrator({ db, provider, migrationTableSchema: schema });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** True when `work` succeeds within `timeoutMs`; false when it fails or takes longer. */
async function withTimeout(work: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Postgres error classes and socket errors that mean "the database is not reachable now", not "this query is wrong". */
const unreachableCodes = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const unreachableMessages = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
  'connection is closed',
];

/** True when `err` says the database is unreachable or went away (answered as a 503, retried at start). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (unreachableCodes.has(code) || code.startsWith('08'))) return true;
  if (typeof message === 'string' && unreachableMessages.some((m) => message.includes(m))) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== err && cause !== undefined && isDatabaseUnavailable(cause);
}

/** A database URL fit for a log line: the password replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}

const START_RETRY_MIN_MS = 500;
const START_RETRY_MAX_MS = 15_000;

/**
 * At start-up: prepares the database, and while it is unreachable says so in one line and tries
 * again with backoff (the server comes up when the database does). Any other failure (a wrong
 * password, a missing database) is thrown at once.
 */
export async function waitForDatabase(handle: DatabaseHandle, config: Config, log: Logger): Promise<void> {
  let wait = START_RETRY_MIN_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await handle.prepare();
      if (attempt > 1) log.info({ attempts: attempt }, 'database reachable');
      return;
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      const reason = (err as Error).message || (err as { code?: string }).code;
      log.warn({ database: redactUrl(config.DATABASE_URL), reason, attempt, retryInMs: wait }, `database unreachable (${reason}); retrying in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, START_RETRY_MAX_MS);
    }
  }
}
