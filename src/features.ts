import { installAudience } from './audience/feature.js';
import { installCaptions } from './captions/feature.js';
import { installDashboard } from './dashboard/feature.js';
import { installRecording } from './recordings/feature.js';
import { installReminders } from './reminders/feature.js';
import { installReplays } from './replays/feature.js';
import { installLiveRooms } from './rooms/index.js';
import type { FeatureInstaller } from './services.js';
import { installWebhooks } from './webhooks/index.js';

/** The features, installed in this order (a feature may use what an earlier one set): one line each. */
export const features: FeatureInstaller[] = [
  installDashboard,
  installWebhooks,
  installLiveRooms,
  installRecording,
  installCaptions,
  installAudience,
  installReplays,
  installReminders,
];
