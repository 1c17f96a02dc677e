import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, type MigrationProvider, Migrator, PostgresDialect, type Transaction, sql } from 'kysely';
import pg from 'pg';
import type { Config } from '../config.js';
import { migrations } from './migrations/index.js';
import { PgliteDialect, PgliteMutex, runPglite } from './pglite-dialect.js';
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
  close(): Promise<void>;
}

// pg returns int8 as text; our bigint columns (byte sizes) fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => v);

export interface OpenOptions {
  /** PGlite only: keep the database in memory (tests). */
  inMemory?: boolean;
  /** Postgres pool size. */
  poolSize?: number;
}

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
  });
  if (schema !== 'public') {
    const client = await pool.connect();
    try {
      await client.query(`create schema if not exists ${schema}`);
    } finally {
      client.release();
    }
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const executor: SqlExecutor = {
    executeSql: (text, values) => pool.query(text, values as unknown[]) as Promise<{ rows: unknown[] }>,
  };
  return {
    kind: 'postgres',
    db,
    executor,
    executorFor: (tx) => txExecutor(tx),
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
    pglite = await PGlite.create({ parsers });
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
  const db = new Kysely<Database>({ dialect: new PgliteDialect(pglite, mutex) });
  const executor: SqlExecutor = {
    async executeSql(text, values = []) {
      const release = await mutex.acquire();
      try {
        return await runPglite(pglite, text, values);
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

/** True when the database answers (readiness). */
export async function ping(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
