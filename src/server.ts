import { buildApp } from './app.js';
import type { Config } from './platform/config.js';
import { closeServices, createServices, startBackground } from './services.js';

/** Starts the whole server (embedded or scaled, per config) and stops it cleanly on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<void> {
  const services = await createServices(config);
  const app = await buildApp(services);
  await app.listen({ port: config.PORT, host: config.HOST });
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
