import { NodeLock } from '../platform/db/node-lock.js';
import type { Services } from '../services.js';
import { SfuPool } from '../sfu/pool.js';
import { talkPageRenderer } from './page.js';
import { partnerLiveRoutes, publicLiveRoutes } from './routes.js';
import { SharedPlacement, localPlacement } from './placement.js';
import { LiveRooms } from './service.js';
import { signallingRoutes } from './signalling.js';

/** The live-room feature: SFU workers, the room WebSocket, partner endpoints and the talk page. */
export function installLiveRooms(services: Services) {
  let rooms: LiveRooms | null = null;
  const sfu = new SfuPool(services.config, services.log, {
    levels: (levels) => rooms?.onLevels(levels),
    peerState: () => undefined,
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
  services.live = live;
  services.talks.listeners.push({
    talkEnded: (talk) => live.closeRoom(talk.id, 'ended'),
    talkDeleted: (talk) => live.closeRoom(talk.id, 'deleted'),
    talkUpdated: (talk) => live.talkUpdated(talk),
    changedElsewhere: (partnerId) => live.talksChangedElsewhere(partnerId),
  });
  services.renderTalkPage = talkPageRenderer(live, (t) => services.talks.shortUrl(t), { transcribes: config.TRANSCRIBE_ENGINE !== 'none' });
  services.partnerRouteExtensions.push(partnerLiveRoutes(live));
  services.publicRouteExtensions.push(publicLiveRoutes());
  services.publicRouteExtensions.push((app, s) => {
    // A stopping node closes its rooms first (pages reconnect at once, to a node that takes the
    // talk over; recordings end with the room), before the server stops taking requests.
    app.addHook('preClose', async () => live.closeAll());
    return signallingRoutes(app, s, live);
  });
  services.background.push({
    name: 'sfu',
    start: async () => {
      // Here, not at install: only a serving node hosts rooms (and CLI commands print JSON on stdout).
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
  });
}
