import type { FeatureInstaller } from '../features.js';
import { dashboardRoutes } from './routes.js';

/** The partner dashboard at /dashboard (a Preact app over the account and partner APIs). */
export const installDashboard: FeatureInstaller = (services) => {
  services.publicRouteExtensions.push(dashboardRoutes);
};
