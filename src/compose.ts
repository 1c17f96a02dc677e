import pino, { type Logger } from 'pino';
import { AccountsService } from './accounts/service.js';
import { createAudience } from './audience/feature.js';
import type { LiveCaptions } from './captions/captioner.js';
import { createCaptions } from './captions/feature.js';
import { createDashboard } from './dashboard/feature.js';
import { GroupsService } from './groups/service.js';
import type { Config } from './platform/config.js';
import { type DatabaseHandle, migrate, openDatabase, waitForDatabase } from './platform/db/index.js';
import type { BackgroundJob, Feature } from './platform/feature.js';
import { loggerOptions } from './platform/logging.js';
import { maintenance } from './platform/maintenance.js';
import { Queue } from './platform/queue.js';
import { createRecording, recordingStorage } from './recordings/feature.js';
import { RecordingsService } from './recordings/service.js';
import { createReminders } from './reminders/feature.js';
import type { Reminders } from './reminders/service.js';
import { createReplays } from './replays/feature.js';
import { createLiveRooms } from './rooms/index.js';
import type { LiveTalks } from './rooms/live.js';
import { talkChanges } from './talks/changes.js';
import type { PageRenderer } from './talks/page.js';
import { TalksService } from './talks/service.js';
import { ThemesService } from './themes/service.js';
import type { EventSink } from './webhooks/events.js';
import { createWebhooks } from './webhooks/index.js';
import type { WebhooksService } from './webhooks/service.js';

/**
 * The composition root: builds the services from the config (database, core services, then each
 * feature from the dependencies it names, in dependency order) and starts and stops them. Only
 * app.ts, the entry points (server.ts, cli.ts) and the tests import it.
 */

export interface ServiceOptions {
  /** PGlite in memory (tests). */
  inMemory?: boolean;
  /** With inMemory: open a copy of this database snapshot (the tests' migrated database), then migrate what it lacks. */
  fromSnapshot?: Blob;
  log?: Logger;
  /** The pg-boss schema (tests isolate it per app on Postgres). */
  queueSchema?: string;
  /** While the database is unreachable, say so and retry with backoff (the server); otherwise fail at once (commands, tests). */
  waitForDatabase?: boolean;
  /**
   * The live talks the recorder, the captioner, the audience stream and the dashboard observe
   * (tests: a room of RTP from ffmpeg instead of WebRTC peers). By default, the live-room feature's.
   */
  live?: LiveTalks;
}

/** The server logs to stdout; a command logs to stderr (`to: 'stderr'`), keeping stdout for what it prints. */
export function createLogger(config: Config, to: 'stdout' | 'stderr' = 'stdout'): Logger {
  const options = loggerOptions(config);
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

/**
 * Everything the app is made of, built once from the config by `createServices`: the core services
 * every feature may use, then each feature's own service, in the order they were built. Only the
 * root (this file, app.ts and the entry points) sees the whole; a feature is handed the few
 * dependencies it names.
 */
export interface Services {
  readonly config: Config;
  readonly log: Logger;
  readonly db: DatabaseHandle;
  readonly queue: Queue;
  readonly accounts: AccountsService;
  readonly talks: TalksService;
  readonly groups: GroupsService;
  readonly themes: ThemesService;
  readonly recordings: RecordingsService;
  /** Partner events (the webhooks' outbox). */
  readonly events: EventSink;
  readonly webhooks: WebhooksService;
  /** The live talks as the features observe them: the live rooms, unless ServiceOptions.live replaced them. */
  readonly live: LiveTalks;
  readonly captions: LiveCaptions;
  readonly reminders: Reminders;
  readonly renderTalkPage: PageRenderer;
  readonly renderReplayPage: PageRenderer;
  /** Each feature's routes, jobs and queues, in the order they were built. */
  readonly features: Feature[];
  /** Started after the HTTP server listens, in this order; stopped in reverse order on close. */
  readonly background: BackgroundJob[];
  /** The job queues, created when the queue starts. */
  readonly queueNames: string[];
}

/** Opens the database, migrates it and builds the core services, then each feature from what it needs, in dependency order. */
export async function createServices(config: Config, options: ServiceOptions = {}): Promise<Services> {
  const log = options.log ?? createLogger(config);
  const db = await openDatabase(config, { inMemory: options.inMemory, fromSnapshot: options.fromSnapshot, log });
  try {
    if (options.waitForDatabase) await waitForDatabase(db, config, log);
    else await db.prepare();
    const applied = await migrate(db.db, config.DATABASE_SCHEMA);
    if (applied.length) log.info({ applied }, 'migrations applied');
  } catch (err) {
    await db.close();
    throw err;
  }

  // The core: what the partner API is about, and what every feature may use.
  const queue = new Queue(db, log, { schema: options.queueSchema ?? (config.DATABASE_SCHEMA === 'public' ? 'pgboss' : `${config.DATABASE_SCHEMA}_pgboss`) });
  const accounts = new AccountsService(db.db, log, config.TOKEN_CACHE_SECONDS);
  const talks = new TalksService(
    db.db,
    { publicUrl: config.PUBLIC_URL, liveStreams: config.LIVE_STREAM },
    {
      bytes: config.TALK_LIST_CACHE_MB * 1024 * 1024,
      maxAgeMs: config.TALK_LIST_CACHE_SECONDS * 1000,
    },
  );
  const groups = new GroupsService(db.db, talks);
  // Deleting a theme clears it from its talks (on delete set null).
  const themes = new ThemesService(db.db, (partnerId) => talks.changed(partnerId));
  const recordings = new RecordingsService(db.db, recordingStorage(config), config.PUBLIC_URL, config.SECRET_KEY);
  // A talk deleted takes its recordings (the rows by cascade, their files through this).
  talks.listeners.push({ deletingTalks: (q, partnerId, talkIds) => recordings.deletingTalks(q, partnerId, talkIds) });
  const core = { config, log, db, queue, accounts, talks, groups, themes, recordings };

  // The features, each from the dependencies it names; a later one may use what an earlier one offers.
  const webhooks = createWebhooks(core);
  const { events } = webhooks;
  const rooms = createLiveRooms({ ...core, events });
  const live = options.live ?? rooms.live;
  const recording = createRecording({ ...core, events, live });
  const captions = createCaptions({ ...core, events, live });
  const audience = createAudience({ ...core, live });
  const replays = createReplays(core);
  const reminders = createReminders(core);
  const dashboard = createDashboard({ talks, live });
  const features: Feature[] = [dashboard, webhooks, rooms, recording, captions, audience, replays, reminders];

  const chores = maintenance(db.db, db.kind, log);
  chores.chores.push(
    {
      name: 'series',
      run: async () => {
        const created = await talks.extendAllSeries();
        if (created) log.info({ created }, 'series occurrences created');
      },
    },
    { name: 'sessions', run: () => accounts.pruneExpiredSessions() },
  );
  const queueNames = features.flatMap((f) => f.queues ?? []);
  const background: BackgroundJob[] = [
    { name: 'queue', start: () => queue.start(queueNames), stop: () => queue.stop() },
    chores,
    talkChanges(db, config.DATABASE_URL, config.DATABASE_SCHEMA, talks, log),
    ...features.flatMap((f) => f.background ?? []),
  ];
  return {
    ...core,
    events,
    webhooks: webhooks.service,
    live,
    captions: captions.captions,
    reminders: reminders.reminders,
    renderTalkPage: rooms.renderTalkPage,
    renderReplayPage: replays.renderReplayPage,
    features,
    background,
    queueNames,
  };
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
