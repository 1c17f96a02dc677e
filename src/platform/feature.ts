import type { App } from './http.js';

/**
 * What a feature hands the composition root (compose.ts), besides the small service it offers the
 * features built after it: its routes, the jobs it runs while the server serves, and its queues.
 * The root builds every feature from the dependencies it names, in dependency order, and then
 * registers the routes (app.ts) and starts the jobs; a feature never reaches back into the root.
 */
export interface Feature {
  name: string;
  /** Routes inside the authenticated partner API scope (request.partner is set). */
  partnerRoutes?: (api: App) => Promise<void>;
  /** Routes outside it: pages, sockets, downloads. */
  publicRoutes?: (app: App) => Promise<void>;
  /** Started after the HTTP server listens (in the order the root lists them); stopped in reverse order on close. */
  background?: BackgroundJob[];
  /** The job queues it works on (created when the queue starts). */
  queues?: string[];
}

/** Something started after the HTTP server listens and stopped, in reverse order, on close. */
export interface BackgroundJob {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
