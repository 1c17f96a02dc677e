import type { Services } from '../services.js';
import { LiveCaptions } from './captioner.js';
import { captionRoutes } from './routes.js';

const installed = new WeakMap<Services, LiveCaptions>();

/** The captioner installed on these services (tests and the benchmark read its timings). */
export function captionsOf(services: Services): LiveCaptions | undefined {
  return installed.get(services);
}

/**
 * Live captions (when LIVE_CAPTIONS is on): observes the live room like the recorder does, and
 * adds the partner route listing a talk's saved captions (always, so past captions stay readable).
 */
export function installCaptions(services: Services): void {
  const captions = new LiveCaptions(services, () => services.live);
  installed.set(services, captions);
  services.partnerRouteExtensions.push(captionRoutes(captions.repo));
  if (!services.config.LIVE_CAPTIONS) return;
  services.background.push({
    name: 'captions',
    start: async () => {
      services.live?.addObserver(captions);
      captions.start();
    },
    stop: () => captions.stop(),
  });
}
