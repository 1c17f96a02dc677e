import { buildApp } from './app.js';
import type { Config } from './platform/config.js';
import { isDatabaseUnavailable, redactUrl } from './platform/db/index.js';
import { LISTEN_BACKLOG } from './platform/http.js';
import { closeServices, createLogger, createServices, startBackground } from './compose.js';

/** Starts the whole server (embedded or scaled, per config) and stops it cleanly on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<void> {
  const log = createLogger(config);
  // A query whose promise nobody awaits (a background timer's) must not end the process when
  // the database goes away under it: the work is retried by its own schedule.
  process.on('unhandledRejection', (err) => {
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'database unreachable (background work)');
      return;
    }
    log.fatal({ err }, 'unhandled rejection');
    process.exit(1);
  });
  let services: Awaited<ReturnType<typeof createServices>>;
  try {
    // While the database is unreachable it says so in one line and retries with backoff.
    services = await createServices(config, { log, waitForDatabase: true });
  } catch (err) {
    const { message, code } = err as { message?: string; code?: string };
    log.fatal({ database: redactUrl(config.DATABASE_URL), code }, `start-up failed: ${message}`);
    process.exit(1);
  }
  const app = await buildApp(services);
  await app.listen({ port: config.PORT, host: config.HOST, backlog: LISTEN_BACKLOG });
  await startBackground(services);
  services.log.info(
    { url: config.PUBLIC_URL, database: config.dbKind, dataDir: config.dbKind === 'pglite' ? config.DATA_DIR : undefined },
    `smalltalk is listening on ${config.HOST}:${config.PORT}; API docs at ${config.PUBLIC_URL}/docs`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    services.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await app.close();
    await closeServices(services);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
