import type { Config } from '../platform/config.js';
import type { Feature } from '../platform/feature.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { type CaptionsDeps, LiveCaptions } from './captioner.js';
import { captionRoutes } from './routes.js';

export interface CaptionsFeatureDeps extends CaptionsDeps {
  config: Config;
  talks: TalksService;
  live: LiveTalks;
}

/** The captioner (tests and the benchmark read its timings). */
export interface CaptionsFeature extends Feature {
  captions: LiveCaptions;
}

/**
 * Live captions (when LIVE_CAPTIONS is on): observes the live room like the recorder does, and
 * adds the partner route listing a talk's saved captions (always, so past captions stay readable).
 */
export function createCaptions(services: CaptionsFeatureDeps): CaptionsFeature {
  const { live } = services;
  const captions = new LiveCaptions(services, live);
  return {
    name: 'captions',
    captions,
    partnerRoutes: captionRoutes(captions.repo, services.talks),
    background: services.config.LIVE_CAPTIONS
      ? [
          {
            name: 'captions',
            start: async () => {
              live.addObserver(captions);
              captions.start();
            },
            stop: () => captions.stop(),
          },
        ]
      : [],
  };
}
