import path from 'node:path';
import pino, { type Logger } from 'pino';
import { AccountsService } from './accounts/service.js';
import { features } from './features.js';
import { GroupsService } from './groups/service.js';
import type { Config } from './platform/config.js';
import { migrate, openDatabase, waitForDatabase } from './platform/db/index.js';
import { FeatureNotInstalled } from './platform/errors.js';
import { maintenance } from './platform/maintenance.js';
import { Queue } from './platform/queue.js';
import { RecordingsService } from './recordings/service.js';
import { LocalStorage } from './recordings/storage.js';
import type { Services } from './services.js';
import { talkChanges } from './talks/changes.js';
import { TalksService } from './talks/service.js';
import { ThemesService } from './themes/service.js';

/**
 * The composition root: builds the services from the config (database, core services, then each
 * feature in features.ts, in order) and starts and stops them. Only the entry points (server.ts,
 * cli.ts) and the tests import it.
 */

export interface ServiceOptions {
  /** PGlite in memory (tests). */
  inMemory?: boolean;
  log?: Logger;
  /** The pg-boss schema (tests isolate it per app on Postgres). */
  queueSchema?: string;
  /** While the database is unreachable, say so and retry with backoff (the server); otherwise fail at once (commands, tests). */
  waitForDatabase?: boolean;
}

/** The server logs to stdout; a command logs to stderr (`to: 'stderr'`), keeping stdout for what it prints. */
export function createLogger(config: Config, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = {
    level: config.LOG_LEVEL,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.api_token', '*.secret', 'headers.authorization'],
      censor: '[redacted]',
    },
    serializers: { err: safeError },
  };
  return to === 'stdout' ? pino(options) : pino(options, pino.destination({ fd: 2, sync: true }));
}

/**
 * The services for a `smalltalk` command other than `serve`: the same as the server's, but logging
 * to stderr, so that stdout holds only what the command prints (one JSON document with --json),
 * also on a first run, when the migrations are logged.
 */
export function createCommandServices(config: Config): Promise<Services> {
  return createServices(config, { log: createLogger(config, 'stderr') });
}

/** Database errors carry the query's parameters (which may be secrets): log everything but those. */
function safeError(err: unknown) {
  const serialized = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object') {
    delete serialized.params;
    delete serialized.parameters;
  }
  return serialized;
}

/** Opens the database, migrates it and wires the features together. */
export async function createServices(config: Config, options: ServiceOptions = {}): Promise<Services> {
  const log = options.log ?? createLogger(config);
  const db = await openDatabase(config, { inMemory: options.inMemory, log });
  try {
    if (options.waitForDatabase) await waitForDatabase(db, config, log);
    else await db.prepare();
    const applied = await migrate(db.db, config.DATABASE_SCHEMA);
    if (applied.length) log.info({ applied }, 'migrations applied');
  } catch (err) {
    await db.close();
    throw err;
  }
  const talks = new TalksService(
    db.db,
    { publicUrl: config.PUBLIC_URL, liveStreams: config.LIVE_STREAM },
    {
      bytes: config.TALK_LIST_CACHE_MB * 1024 * 1024,
      maxAgeMs: config.TALK_LIST_CACHE_SECONDS * 1000,
    },
  );
  const services: Services = {
    config,
    log,
    db,
    queue: new Queue(db, log, { schema: options.queueSchema ?? (config.DATABASE_SCHEMA === 'public' ? 'pgboss' : `${config.DATABASE_SCHEMA}_pgboss`) }),
    accounts: new AccountsService(db.db, log, config.TOKEN_CACHE_SECONDS),
    talks,
    groups: new GroupsService(db.db, talks),
    // Deleting a theme clears it from its talks (on delete set null).
    themes: new ThemesService(db.db, (partnerId) => talks.changed(partnerId)),
    recordings: new RecordingsService(db.db, new LocalStorage(path.join(config.DATA_DIR, 'recordings')), config.PUBLIC_URL, config.SECRET_KEY),
    events: {
      emit: async () => {
        throw new FeatureNotInstalled('webhooks');
      },
    },
    partnerRouteExtensions: [],
    publicRouteExtensions: [],
    background: [],
    queueNames: [],
  };
  services.background.push({ name: 'queue', start: () => services.queue.start(services.queueNames), stop: () => services.queue.stop() });
  const chores = maintenance(db.db, db.kind, log);
  chores.chores.push(
    {
      name: 'series',
      run: async () => {
        const created = await talks.extendAllSeries();
        if (created) log.info({ created }, 'series occurrences created');
      },
    },
    { name: 'sessions', run: () => services.accounts.pruneExpiredSessions() },
  );
  services.background.push(chores);
  services.background.push(talkChanges(db, config.DATABASE_URL, config.DATABASE_SCHEMA, talks, log));
  for (const install of features) await install(services);
  return services;
}

export async function startBackground(services: Services) {
  for (const job of services.background) {
    await job.start();
  }
}

export async function closeServices(services: Services) {
  for (const job of [...services.background].reverse()) {
    await job.stop().catch((err) => services.log.error({ err, job: job.name }, 'stopping failed'));
  }
  await services.db.close();
}
