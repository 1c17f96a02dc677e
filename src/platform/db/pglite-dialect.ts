import { type PGlite, parse, protocol } from '@electric-sql/pglite';
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
import pgUtils from 'pg/lib/utils.js';

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

/**
 * A parameter as node-postgres sends it (`pg`'s own `prepareValue`: text, or a Buffer sent binary),
 * so PGlite and Postgres get the same text for the same value (a Date, an array literal, JSON).
 */
function wireValue(value: unknown): string | Buffer | null {
  return value === null || value === undefined ? null : (pgUtils.prepareValue(value) as string | Buffer | null);
}

const { serialize } = protocol;

/** Prepared statements kept in PGlite's one session (the app's Kysely and pg-boss's executor share them). */
export const PREPARED_STATEMENTS = 256;

/** Postgres's error for a prepared statement whose table changed its columns since (feature_not_supported). */
const STALE_PLAN = '0A000';

/** Statement names are unique across every cache (a bench or a test may keep two on one session). */
let nextStatement = 0;

/**
 * The statements prepared in PGlite's one session, by SQL text, least recently used
 * first. Postgres then parses and plans a repeated statement (a join's talk lookup, the participant
 * insert, pg-boss's fetch) once instead of on every run, as node-postgres does for a named query.
 * Statements pushed out, or whose run failed, are closed with the next statement sent.
 */
export class PreparedStatements {
  private readonly names = new Map<string, string>();
  private closing: string[] = [];

  constructor(readonly size = PREPARED_STATEMENTS) {}

  /** The messages that run `sql`: bind to its prepared statement, or parse it first under a new name. */
  messages(sql: string, parameters: readonly unknown[]): { messages: Uint8Array[]; name: string; parsed: boolean } {
    const out: Uint8Array[] = this.closing.map((name) => serialize.close({ type: 'S', name }));
    this.closing = [];
    let name = this.names.get(sql);
    const parsed = name === undefined;
    if (name === undefined) {
      name = this.size > 0 ? `st${nextStatement++}` : '';
      out.push(serialize.parse({ name, text: sql }));
    } else {
      // Most recently used goes last.
      this.names.delete(sql);
      this.names.set(sql, name);
    }
    out.push(
      serialize.bind({ statement: name, values: parameters.map(wireValue) }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    );
    return { messages: out, name, parsed };
  }

  /** `sql` ran: a newly parsed statement is kept (the least recently used one goes if there are too many). */
  ran(sql: string, name: string, parsed: boolean): void {
    if (!parsed || name === '') return;
    this.names.set(sql, name);
    if (this.names.size > this.size) {
      const [oldestSql, oldest] = this.names.entries().next().value as [string, string];
      this.names.delete(oldestSql);
      this.closing.push(oldest);
    }
  }

  /**
   * `sql` failed. Its statement may be gone or stale (a table changed under it), or was never made
   * (a parse error): it is closed and parsed again next time. Closing a name that does not exist is no error.
   */
  failed(sql: string, name: string): void {
    if (name === '') return;
    if (this.names.get(sql) === name) this.names.delete(sql);
    this.closing.push(name);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Runs one statement on PGlite. With parameters (or one statement without), its messages go in ONE
 * call into PGlite's WebAssembly: PGlite's own `query` makes six (parse, describe the statement,
 * bind, describe the portal, execute, sync), each a call with its own overhead; this one makes one,
 * as a socket client does (116 against 171 µs of CPU for a small insert, 67 against 91-121 µs for
 * `select 1`). Parameters are not described first: Postgres infers their types, as it does for
 * node-postgres in the Postgres mode. A statement run before is not parsed again: it binds to the
 * statement `statements` prepared then. `prefix` (a `begin` held back by the driver) goes first in the
 * same call. The caller holds the connection (PgliteMutex): nothing else talks to PGlite meanwhile.
 */
export async function runPglite(
  pglite: PGlite,
  statements: PreparedStatements,
  sql: string,
  parameters: readonly unknown[],
  prefix: Uint8Array[] = [],
): Promise<QueryResult<Record<string, unknown>>> {
  if (parameters.length === 0 && /;\s*\S/.test(sql)) {
    // Several statements without parameters (pg-boss migrations): the simple protocol.
    if (prefix.length) await pglite.execProtocol(concat(prefix));
    const results = await pglite.exec(sql);
    const last = results[results.length - 1];
    return { rows: (last?.rows ?? []) as Record<string, unknown>[] };
  }
  const run = statements.messages(sql, parameters);
  let messages: Awaited<ReturnType<PGlite['execProtocol']>>['messages'];
  try {
    ({ messages } = await pglite.execProtocol(concat([...prefix, ...run.messages])));
  } catch (err) {
    statements.failed(sql, run.name);
    // A table changed under a prepared statement ("cached plan must not change result type"): outside a
    // transaction, parsed again at once, as if it had never been prepared.
    if (!run.parsed && (err as { code?: string }).code === STALE_PLAN && prefix.length === 0 && !pglite.isInTransaction()) {
      return runPglite(pglite, statements, sql, parameters);
    }
    throw err;
  }
  statements.ran(sql, run.name, run.parsed);
  const results = parse.parseResults(messages, pglite.parsers);
  const result = results[results.length - 1];
  return {
    rows: (result?.rows ?? []) as Record<string, unknown>[],
    numAffectedRows: result?.affectedRows !== undefined ? BigInt(result.affectedRows) : undefined,
  };
}

class PgliteConnection implements DatabaseConnection {
  /**
   * A transaction's `begin`, held back until its first statement and sent in the same call (one call
   * into PGlite fewer per transaction); a transaction that runs no statement sends neither it nor its end.
   */
  private pendingBegin = false;

  constructor(
    private readonly pglite: PGlite,
    private readonly statements: PreparedStatements,
  ) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const prefix = this.pendingBegin ? [serialize.query('begin')] : [];
    this.pendingBegin = false;
    return runPglite(this.pglite, this.statements, compiled.sql, compiled.parameters, prefix) as Promise<QueryResult<R>>;
  }

  begin(): void {
    this.pendingBegin = true;
  }

  /** Ends the transaction (`commit` or `rollback`); nothing to send if it never began. */
  async end(command: 'commit' | 'rollback'): Promise<void> {
    if (this.pendingBegin) {
      this.pendingBegin = false;
      return;
    }
    await runPglite(this.pglite, this.statements, command, []);
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
    statements: PreparedStatements,
  ) {
    this.connection = new PgliteConnection(pglite, statements);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.mutex.acquire();
    // One connection object shared by turns; the mutex guarantees one user at a time.
    this.releases.set(this.connection, release);
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection): Promise<void> {
    (conn as PgliteConnection).begin();
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await (conn as PgliteConnection).end('commit');
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await (conn as PgliteConnection).end('rollback');
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    const release = this.releases.get(conn);
    this.releases.delete(conn);
    release?.();
  }

  async destroy(): Promise<void> {}
}

/**
 * A Kysely dialect for PGlite whose connection is shared, through `mutex`, with pg-boss. It keeps its
 * statements prepared (`statements`; size 0 prepares none, for comparison in bench/api/pglite-calls.ts).
 */
export class PgliteDialect implements Dialect {
  constructor(
    private readonly pglite: PGlite,
    private readonly mutex: PgliteMutex,
    private readonly statements = new PreparedStatements(),
  ) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.pglite, this.mutex, this.statements);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<any>) {
    return new PostgresIntrospector(db);
  }
}
