import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from './config.js';

/**
 * The Content-Security-Policy of every page we serve (the talk page, the dashboard, static files,
 * errors): scripts only from our own files (no inline script runs), styles ours plus the inline
 * `<style>` of a talk's theme colours, images from anywhere (partners' logos, photos), media from
 * the room's streams, connections to our own origin and its WebSocket, and to the other nodes'
 * sockets in scaled mode. Nobody may frame a page unless a partner lists embed origins (embedPolicy).
 */
function directives(config: Config, frameAncestors: string[] = ["'none'"]): Record<string, string[]> {
  const own = new URL(config.PUBLIC_URL);
  const ws = `${own.protocol === 'https:' ? 'wss' : 'ws'}://${own.host}`;
  // A room may live on another node (scaled mode: a shared database): the page follows the
  // redirect there. The nodes come and go, so any socket of the page's scheme is allowed.
  const scaled = config.dbKind === 'postgres' || config.NODE_PUBLIC_URL !== undefined;
  const nodes = scaled ? [own.protocol === 'https:' ? 'wss:' : 'ws: wss:'] : [];
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:', 'https:', 'http:'],
    'media-src': ["'self'", 'blob:'],
    'font-src': ["'self'", 'data:'],
    'connect-src': ["'self'", ws, ...nodes],
    'worker-src': ["'self'", 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': frameAncestors,
  };
}

/** Security headers on every answer, set once here through helmet. */
export async function registerSecurityHeaders(app: FastifyInstance, config: Config) {
  const https = config.PUBLIC_URL.startsWith('https://');
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: directives(config) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    // Strict-Transport-Security only where the site is served over https (never on a plain-http test).
    strictTransportSecurity: https ? { maxAge: 15_552_000, includeSubDomains: false } : false,
    // Recordings are played from partners' own sites (<audio src>): files may be loaded cross-origin.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    // The talk page may be opened from a partner's site in a popup.
    crossOriginOpenerPolicy: { policy: 'same-origin-allow-popups' },
  });
}

/**
 * A talk page of a partner that lists embed origins: those origins may frame it (CSP
 * frame-ancestors), so X-Frame-Options (which cannot name several origins) goes.
 */
export function allowFraming(reply: FastifyReply, config: Config, origins: string[]) {
  if (origins.length === 0) return;
  const policy = Object.entries(directives(config, origins))
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join(';');
  reply.header('content-security-policy', policy);
  reply.removeHeader('x-frame-options');
}
