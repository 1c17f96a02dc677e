import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/platform/config.js';
import { closeServices, createServices } from '../../src/compose.js';
import type { Services } from '../../src/services.js';
import { dropSchema, freePort, testDb } from '../support/app.js';

export interface LoggedApp {
  url: string;
  services: Services;
  /** Every log line the app wrote, parsed. */
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * The real app with a logger we can read (startApp's is silent): the operator-visible
 * password-reset link is in it. PGlite in memory, or TEST_DB=postgres in a schema of its own.
 * `background` names the background jobs to start (e.g. the queue and the webhook worker).
 */
export async function startLoggedApp(env: Record<string, string> = {}, background: string[] = []): Promise<LoggedApp> {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const schema = testDb === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const database: Record<string, string> = schema ? { DATABASE_URL: process.env.TEST_DATABASE_URL ?? '', DATABASE_SCHEMA: schema } : {};
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    HOST: '127.0.0.1',
    DATA_DIR: `/tmp/smalltalk-dash-${port}`,
    SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnop',
    LOG_LEVEL: 'info',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_ALLOW_HTTP: 'true',
    ...database,
    ...env,
  });
  const services = await createServices(config, { inMemory: !schema, log: pino({ level: 'info' }, stream) });
  const app = await buildApp(services);
  await app.listen({ port, host: '127.0.0.1' });
  const started = services.background.filter((b) => background.includes(b.name));
  for (const job of started) await job.start();
  return {
    url: `http://127.0.0.1:${port}`,
    services,
    lines,
    close: async () => {
      await app.close();
      // Stop only what we started (closeServices would stop every job, started or not).
      for (const job of [...started].reverse()) await job.stop();
      services.background.length = 0;
      await closeServices(services);
      if (schema) await dropSchema(schema);
      rmSync(config.DATA_DIR, { recursive: true, force: true });
    },
  };
}
