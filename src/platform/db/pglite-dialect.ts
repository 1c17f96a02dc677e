import type { PGlite } from '@electric-sql/pglite';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';

/**
 * PGlite is one connection. Kysely transactions and pg-boss both talk to it, so every user
 * takes the connection through this mutex: a transaction holds it from BEGIN to COMMIT and
 * nothing else interleaves. (Inside a transaction, always use the transaction handle: asking the
 * pool for a second connection there would wait for ever on PGlite.)
 */
export class PgliteMutex {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

export async function runPglite(pglite: PGlite, sql: string, parameters: readonly unknown[]): Promise<QueryResult<Record<string, unknown>>> {
  if (parameters.length === 0 && /;\s*\S/.test(sql)) {
    // Several statements without parameters (pg-boss migrations): the simple protocol.
    const results = await pglite.exec(sql);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as Record<string, unknown>[] };
  }
  const result = await pglite.query<Record<string, unknown>>(sql, parameters as unknown[]);
  return {
    rows: result.rows,
    numAffectedRows: result.affectedRows !== undefined ? BigInt(result.affectedRows) : undefined,
  };
}

class PgliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return runPglite(this.pglite, compiled.sql, compiled.parameters) as Promise<QueryResult<R>>;
  }

  // biome-ignore lint/correctness/useYield: streaming is not offered on PGlite
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streamQuery is not supported on PGlite');
  }
}

class PgliteDriver implements Driver {
  private readonly releases = new WeakMap<DatabaseConnection, () => void>();
  private readonly connection: PgliteConnection;

  constructor(
    pglite: PGlite,
    private readonly mutex: PgliteMutex,
  ) {
    this.connection = new PgliteConnection(pglite);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.mutex.acquire();
    // One connection object shared by turns; the mutex guarantees one user at a time.
    this.releases.set(this.connection, release);
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'begin', parameters: [] } as unknown as CompiledQuery);
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'commit', parameters: [] } as unknown as CompiledQuery);
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'rollback', parameters: [] } as unknown as CompiledQuery);
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const release = this.releases.get(conn);
    this.releases.delete(conn);
    release?.();
  }

  async destroy(): Promise<void> {}
}

/** A Kysely dialect for PGlite whose connection is shared, through `mutex`, with pg-boss. */
export class PgliteDialect implements Dialect {
  constructor(
    private readonly pglite: PGlite,
    private readonly mutex: PgliteMutex,
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.pglite, this.mutex);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
