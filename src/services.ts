import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AccountsService } from './accounts/service.js';
import type { GroupsService } from './groups/service.js';
import type { Config } from './platform/config.js';
import type { DatabaseHandle } from './platform/db/index.js';
import type { Talk, Theme } from './platform/db/schema.js';
import type { App } from './platform/http.js';
import type { Queue } from './platform/queue.js';
import type { RecordingsService } from './recordings/service.js';
import type { LiveTalks } from './rooms/live.js';
import type { TalksService } from './talks/service.js';
import type { ThemesService } from './themes/service.js';
import type { EventSink } from './webhooks/events.js';

/**
 * What the app is made of, as the features see it: the core services, and what features add. The
 * composition root (compose.ts) builds it; this file only describes it, so a feature that takes
 * `Services` does not import the root that imports the feature.
 */

export type RouteExtension = (app: App, services: Services) => Promise<void>;

/** Everything the app is made of, built once from the config and handed to each feature. */
export interface Services {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  queue: Queue;
  accounts: AccountsService;
  talks: TalksService;
  groups: GroupsService;
  themes: ThemesService;
  recordings: RecordingsService;
  /** Partner events (webhooks' outbox). Set by the webhooks feature. */
  events: EventSink;
  /** The live rooms. Set by the live-room feature. */
  live?: LiveTalks;
  /** Routes features add inside the authenticated partner scope. */
  partnerRouteExtensions: RouteExtension[];
  /** Routes features add outside it (pages, sockets, downloads). */
  publicRouteExtensions: RouteExtension[];
  /** The talk page renderer, once the live room provides one. */
  renderTalkPage?: (talk: Talk, theme: Theme | null, request: FastifyRequest) => Promise<string>;
  /** The page an ended talk's short URL shows (its replay), once the replays feature provides one. */
  renderReplayPage?: (talk: Talk, theme: Theme | null, request: FastifyRequest) => Promise<string>;
  /** Started after the HTTP server listens; stopped in reverse order on close. */
  background: { name: string; start(): Promise<void>; stop(): Promise<void> }[];
  /** Job queues features use; created when the queue starts. */
  queueNames: string[];
}

/** Something started after the HTTP server listens and stopped, in reverse order, on close. */
export type BackgroundJob = Services['background'][number];

/**
 * A feature that plugs into the core services: adds its routes to `partnerRouteExtensions` /
 * `publicRouteExtensions`, its workers to `background`, and its listeners to the services it reacts to.
 */
export type FeatureInstaller = (services: Services) => Promise<void> | void;
