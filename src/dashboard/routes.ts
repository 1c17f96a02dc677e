import type { App } from '../app.js';
import { assetTags } from '../platform/web.js';
import type { Services } from '../services.js';

/** The dashboard's HTML shell: the same page for /dashboard and each of its client-side routes. */
export function dashboardShell(tags: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>smalltalk dashboard</title>
${tags}
</head>
<body>
<div id="app"><noscript>The smalltalk dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
}

// Everything the page loads comes from this server; partners' own logo and background images are the exception.
const csp = [
  "default-src 'self'",
  "img-src 'self' data: blob: https: http:",
  "media-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export async function dashboardRoutes(app: App, _services: Services) {
  let html: string | null = null;
  const handler = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    // Read the manifest on first use so the API still starts when the front end is not built.
    html ??= dashboardShell(assetTags('dashboard'));
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', csp)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .send(html);
  };
  app.get('/dashboard', { schema: { hide: true } }, handler);
  app.get('/dashboard/*', { schema: { hide: true } }, handler);
}
