import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { closeServices, createServices, startBackground } from '../../src/compose.js';
import { type Config, loadConfig } from '../../src/platform/config.js';
import { type App, LISTEN_BACKLOG } from '../../src/platform/http.js';
import { loggerOptions } from '../../src/platform/logging.js';
import type { Services } from '../../src/compose.js';
import type { LiveTalks } from '../../src/rooms/live.js';
import { postgresUrl } from './needs.js';
import { pgliteSnapshot } from './pglite-snapshot.js';

/**
 * Tests run against the real app over HTTP, on real PGlite (default) or on the real Postgres
 * named by TEST_DATABASE_URL when TEST_DB=postgres (each app gets its own schema, dropped after).
 */
export const testDb = (process.env.TEST_DB ?? 'pglite') as 'pglite' | 'postgres';

export interface TestApp {
  url: string;
  app: App;
  services: Services;
  config: Config;
  dataDir: string;
  /** Every log line the app wrote, parsed (only with `logs: true`; otherwise empty). */
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Keep PGlite on disk under dataDir instead of memory (restart tests). */
  onDisk?: boolean;
  dataDir?: string;
  /** Reuse a Postgres schema (restart tests). */
  schema?: string;
  /**
   * The background jobs to start: all of them (true, the default), none (false), or those named
   * (e.g. ['queue', 'webhook-delivery']; only those are stopped again on close).
   */
  background?: boolean | string[];
  /** Override TEST_DB for this app (the scaled-mode tests always use Postgres). */
  db?: 'pglite' | 'postgres';
  /**
   * Keep the app's log where the test can read it (`lines`), at LOG_LEVEL info unless `env` says
   * otherwise: the operator-visible password-reset link is in it. Otherwise the app is silent
   * (or logs at TEST_LOG_LEVEL to stdout).
   */
  logs?: boolean;
  /** The live talks the recorder and the captioner observe, instead of the live rooms (an RTP test room). */
  live?: LiveTalks;
}

export async function startApp(options: StartOptions = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'smalltalk-test-'));
  // A fixed PORT: a node restarted at the address it had (restart tests).
  const port = options.env?.PORT ? Number(options.env.PORT) : await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: options.logs ? 'info' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnop',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    // Tests sign many users up from one address; test/security/edge-signup.test.ts tests the limit.
    SIGNUPS_PER_HOUR: '1000',
    // The SFU engine the live tests run on (scripts/test.sh runs some of them on each).
    ...(process.env.SFU_ENGINE ? { SFU_ENGINE: process.env.SFU_ENGINE } : {}),
    ...options.env,
  };
  let schema: string | undefined;
  const kind = options.db ?? testDb;
  if (kind === 'postgres') {
    schema = options.schema ?? `t_${randomBytes(6).toString('hex')}`;
    env.DATABASE_URL = postgresUrl(`TEST_DB=postgres`);
    env.DATABASE_SCHEMA = schema;
  }
  const config = loadConfig(env);
  const lines: Record<string, unknown>[] = [];
  const log = options.logs
    ? pino(
        loggerOptions(config),
        new Writable({
          write(chunk, _enc, done) {
            for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
            done();
          },
        }),
      )
    : undefined;
  const inMemory = kind === 'pglite' && !options.onDisk;
  const fromSnapshot = inMemory ? await pgliteSnapshot(config) : undefined;
  const create = () => createServices(config, { inMemory, fromSnapshot, log, live: options.live });
  const services = kind === 'postgres' ? await withSchemaLock(create) : await create();
  const app = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  const background = options.background ?? true;
  const named = Array.isArray(background) ? services.background.filter((job) => background.includes(job.name)) : null;
  if (named) for (const job of named) await job.start();
  else if (background) await startBackground(services);
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    url,
    app,
    services,
    config,
    dataDir,
    lines,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (named) {
        // Stop only what was started (closeServices stops every job, started or not).
        for (const job of [...named].reverse()) await job.stop();
        services.background.length = 0;
      }
      await closeServices(services);
      if (!options.dataDir && !options.schema) {
        if (schema) await dropSchema(schema);
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A port that was free a moment ago (the app must know its public URL before it listens).
 * Chosen below the kernel's ephemeral range (32768+), so the many outgoing connections of a
 * loaded machine (database, HTTP clients) cannot take it between this probe and the listen.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port found in 20000-32000');
}

export async function dropSchema(schema: string) {
  await withSchemaLock(async (client) => {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.query(`drop schema if exists ${schema}_pgboss cascade`);
  });
}

/**
 * Held (a Postgres advisory lock, over every test process) while an app on Postgres migrates and
 * while a test's schemas are dropped. Kysely's migrator reads the tables of every schema in the
 * database (pg_catalog, with has_schema_privilege per schema), and a schema another test process
 * dropped meanwhile failed it: "Migration unknown failed: schema "t_…_pgboss" does not exist" (CI, once).
 */
async function withSchemaLock<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
    return await work(client);
  } finally {
    await client.end(); // ending the session releases its lock
  }
}
const SCHEMA_LOCK = 74_201;

export interface TestPartner {
  userId: string;
  partnerId: string;
  token: string;
  email: string;
  password: string;
}

let counter = 0;

/** A user, a partner organization and an API token, made through the services (as the CLI does). */
export async function createPartner(t: TestApp, name = 'Partner'): Promise<TestPartner> {
  counter++;
  const email = `p${counter}-${randomBytes(4).toString('hex')}@example.test`;
  const password = 'correct horse battery staple';
  const user = await t.services.accounts.signUp({ email, password, name: `${name} Owner` });
  const partner = await t.services.accounts.createPartner(user.id, name);
  const token = await t.services.accounts.createToken(partner.id, 'test', user.id);
  return { userId: user.id, partnerId: partner.id, token: token.token, email, password };
}
