import type { Feature } from '../platform/feature.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { participantRoutes } from './participants.js';
import { dashboardRoutes } from './routes.js';

/** The partner dashboard at /dashboard (a Preact app over the account and partner APIs), and the one partner endpoint it adds. */
export function createDashboard(services: { talks: TalksService; live: LiveTalks }): Feature {
  return {
    name: 'dashboard',
    publicRoutes: dashboardRoutes,
    partnerRoutes: (api) => participantRoutes(api, services),
  };
}
