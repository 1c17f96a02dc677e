import type { Logger } from 'pino';
import type { AccountsService } from '../accounts/service.js';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import { NodeLock } from '../platform/db/node-lock.js';
import type { Feature } from '../platform/feature.js';
import type { PageRenderer } from '../talks/page.js';
import type { TalksService } from '../talks/service.js';
import type { EventSink } from '../webhooks/events.js';
import { SfuPool } from '../sfu/pool.js';
import { talkPageRenderer } from './page.js';
import { partnerLiveRoutes, publicLiveRoutes } from './routes.js';
import { SharedPlacement, localPlacement } from './placement.js';
import { LiveRooms } from './service.js';
import { signallingRoutes } from './signalling.js';

export interface LiveRoomsDeps {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  talks: TalksService;
  accounts: AccountsService;
  events: EventSink;
}

/**
 * What the other features use: `live`, the rooms (observed by the recorder, the captioner and the
 * audience stream, read by the dashboard), and the live talk page.
 */
export interface LiveRoomsFeature extends Feature {
  live: LiveRooms;
  renderTalkPage: PageRenderer;
}

/** The live-room feature: SFU workers, the room WebSocket, partner endpoints and the talk page. */
export function createLiveRooms(services: LiveRoomsDeps): LiveRoomsFeature {
  let rooms: LiveRooms | null = null;
  const sfu = new SfuPool(services.config, services.log, {
    levels: (levels) => rooms?.onLevels(levels),
    peerState: () => undefined,
    mediaLost: (ids) => rooms?.mediaLost(ids),
  });
  const { config } = services;
  // Scaled: the rooms are spread over the nodes, and each is hosted by one (placement.ts).
  const placement =
    config.dbKind === 'postgres'
      ? new SharedPlacement(
          services.db.db,
          (config.NODE_PUBLIC_URL ?? config.PUBLIC_URL).replace(/\/+$/, ''),
          config.ROOM_HEARTBEAT_SECONDS * 1000,
          !!config.NODE_PUBLIC_URL,
          new NodeLock(config.DATABASE_URL as string, services.db.db, services.log),
        )
      : localPlacement;
  rooms = new LiveRooms(services.db.db, config, services.log, services.talks, services.events, sfu, placement);
  const live = rooms;
  services.talks.listeners.push({
    talkEnded: (talk) => live.closeRoom(talk.id, 'ended'),
    talkDeleted: (talk) => live.closeRoom(talk.id, 'deleted'),
    talkUpdated: (talk) => live.talkUpdated(talk),
    changedElsewhere: (partnerId) => live.talksChangedElsewhere(partnerId),
  });
  const publicRoutes = publicLiveRoutes({ talks: services.talks, live });
  return {
    name: 'rooms',
    live,
    renderTalkPage: talkPageRenderer(live, (t) => services.talks.shortUrl(t), { transcribes: config.TRANSCRIBE_ENGINE !== 'none' }),
    partnerRoutes: partnerLiveRoutes(live, services.talks),
    publicRoutes: async (app) => {
      await publicRoutes(app);
      // A stopping node closes its rooms first (pages reconnect at once, to a node that takes the
      // talk over; recordings end with the room), before the server stops taking requests.
      app.addHook('preClose', async () => live.closeAll());
      await signallingRoutes(app, services, live);
    },
    background: [
      {
        name: 'sfu',
        start: async () => {
          // Here, not when built: only a serving node hosts rooms (and CLI commands print JSON on stdout).
          if (config.dbKind === 'postgres' && !config.NODE_PUBLIC_URL) {
            services.log.warn('NODE_PUBLIC_URL is not set: with several nodes, a live room can only be reached if the load balancer sends /t/*/ws to one node');
          }
          await sfu.start();
          await live.start();
        },
        stop: async () => {
          await live.closeAll();
          await sfu.stop();
        },
      },
    ],
  };
}
