import type { App } from '../platform/http.js';
import { assetTags } from '../platform/web.js';

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

export async function dashboardRoutes(app: App) {
  let html: string | null = null;
  const handler = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    // Read the manifest on first use so the API still starts when the front end is not built.
    html ??= dashboardShell(assetTags('dashboard'));
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store') // security headers: src/platform/security-headers.ts, on every page
      .send(html);
  };
  app.get('/dashboard', { schema: { hide: true } }, handler);
  app.get('/dashboard/*', { schema: { hide: true } }, handler);
}
