import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { Feature } from '../platform/feature.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { audienceRoutes } from './routes.js';
import { AudienceStreams } from './service.js';

export interface AudienceDeps {
  config: Config;
  log: Logger;
  talks: TalksService;
  live: LiveTalks;
}

/** The audience tier (when LIVE_STREAM is on): each live talk's stage as LL-HLS, from the node hosting it. */
export function createAudience(services: AudienceDeps): Feature {
  if (!services.config.LIVE_STREAM) return { name: 'audience' };
  const { live } = services;
  const streams = new AudienceStreams(live, services.log.child({ component: 'audience' }));
  return {
    name: 'audience',
    publicRoutes: audienceRoutes(streams, services),
    background: [
      {
        name: 'audience',
        start: async () => {
          live.addObserver(streams);
          streams.start();
        },
        stop: () => streams.stop(),
      },
    ],
  };
}
