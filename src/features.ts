import { installCaptions } from './captions/feature.js';
import { installDashboard } from './dashboard/feature.js';
import { installRecording } from './recordings/feature.js';
import { installReminders } from './reminders/feature.js';
import { installReplays } from './replays/feature.js';
import { installLiveRooms } from './rooms/index.js';
import type { Services } from './services.js';
import { installWebhooks } from './webhooks/index.js';

/**
 * Features that plug into the core services: each adds its routes to
 * `partnerRouteExtensions` / `publicRouteExtensions`, its workers to `background`,
 * and its listeners to the services it reacts to. One line per feature.
 */
export type FeatureInstaller = (services: Services) => Promise<void> | void;

export const features: FeatureInstaller[] = [
  installDashboard,
  installWebhooks,
  installLiveRooms,
  installRecording,
  installCaptions,
  installReplays,
  installReminders,
];
