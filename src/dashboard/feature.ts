import type { FeatureInstaller } from '../services.js';
import { participantRoutes } from './participants.js';
import { dashboardRoutes } from './routes.js';

/** The partner dashboard at /dashboard (a Preact app over the account and partner APIs), and the one partner endpoint it adds. */
export const installDashboard: FeatureInstaller = (services) => {
  services.publicRouteExtensions.push(dashboardRoutes);
  services.partnerRouteExtensions.push(participantRoutes);
};
