import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { WebSocket } from 'ws';
import { buildApp } from '../src/app.js';
import { type App, LISTEN_BACKLOG } from '../src/platform/http.js';
import { type Config, loadConfig } from '../src/platform/config.js';
import { RoomRefusal, RoomSocket } from '../src/rooms/client.js';
import { type JoinMessage, roomSocketUrl } from '../src/rooms/protocol.js';
import { closeServices, createServices, startBackground } from '../src/compose.js';
import type { Services } from '../src/services.js';

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
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Keep PGlite on disk under dataDir instead of memory (restart tests). */
  onDisk?: boolean;
  dataDir?: string;
  /** Reuse a Postgres schema (restart tests). */
  schema?: string;
  background?: boolean;
  /** Override TEST_DB for this app (the scaled-mode tests always use Postgres). */
  db?: 'pglite' | 'postgres';
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
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
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
    const url = process.env.TEST_DATABASE_URL;
    if (!url) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
    schema = options.schema ?? `t_${randomBytes(6).toString('hex')}`;
    env.DATABASE_URL = url;
    env.DATABASE_SCHEMA = schema;
  }
  const config = loadConfig(env);
  const services = await createServices(config, { inMemory: kind === 'pglite' && !options.onDisk });
  const app = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  if (options.background !== false) await startBackground(services);
  const url = `http://127.0.0.1:${port}`;
  let closed = false;
  return {
    url,
    app,
    services,
    config,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
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
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.query(`drop schema if exists ${schema}_pgboss cascade`);
  } finally {
    await client.end();
  }
}

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

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with a token and a JSON body (or a raw string body with the given content type). */
export async function api<T = any>(
  t: TestApp,
  method: string,
  pathAndQuery: string,
  options: { token?: string | null; json?: unknown; body?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json; charset=utf-8';
  } else if (options.body !== undefined) {
    body = options.body;
    headers['content-type'] = options.contentType ?? 'application/x-www-form-urlencoded';
  }
  const res = await fetch(`${t.url}${pathAndQuery}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (pages)
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Waits until `check` returns a truthy value (polling an observable state, not guessing a delay). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Joins a talk's room over its real WebSocket through the room client (src/rooms/client.ts), as the
 * talk page does, without media: resolves on `joined`; rejects with the room's `error` message (its
 * JSON), or when the socket closes first (a redirect too: no other node here).
 */
export async function joinRoom(shortUrl: string, message: Record<string, unknown>, headers: Record<string, string> = {}, from?: { localAddress: string }) {
  const socket = new WebSocket(roomSocketUrl(shortUrl), { headers, ...from });
  const room = new RoomSocket(socket);
  // Everything from the first message on: the room's state may come in the same read as `joined`.
  const messages: Record<string, any>[] = [];
  room.onMessage((m) => messages.push(m));
  // As sent: a test may send what no typed client would.
  const joined = await room.join(message as Omit<JoinMessage, 'type'>).catch((err: unknown) => {
    if (err instanceof RoomRefusal) throw new Error(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
    throw err;
  });
  if (joined.type !== 'joined') throw new Error(`sent on to ${joined.ws_url}`);
  return { socket, room, participantId: joined.participant_id, resume: joined.resume, messages };
}

/** Every message a room socket receives from now on, and its close code once it closed. */
export function socketInbox(socket: WebSocket) {
  const room = new RoomSocket(socket);
  const messages: Record<string, any>[] = [];
  room.onMessage((m) => messages.push(m));
  return { messages, closed: () => room.closed?.code ?? null };
}

/**
 * A test's reason to skip (a service it needs is not configured), or false. Under CI the service
 * must be there: CI sets TEST_DATABASE_URL and TEST_REDIS_URL to the machine's own, and a run that
 * skipped them would pass without testing scaled mode at all.
 */
export function skipUnlessCi(reason: string | false): string | false {
  if (reason && process.env.CI) throw new Error(`CI: ${reason}; under CI this is required, not skipped`);
  return reason;
}
