import type { Services } from '../services.js';
import { audienceRoutes } from './routes.js';
import { AudienceStreams } from './service.js';

/** The audience tier (when LIVE_STREAM is on): each live talk's stage as LL-HLS, from the node hosting it. */
export function installAudience(services: Services): void {
  if (!services.config.LIVE_STREAM) return;
  const streams = new AudienceStreams(() => services.live, services.log.child({ component: 'audience' }));
  services.publicRouteExtensions.push(audienceRoutes(streams));
  services.background.push({
    name: 'audience',
    start: async () => {
      services.live?.addObserver(streams);
      streams.start();
    },
    stop: () => streams.stop(),
  });
}
