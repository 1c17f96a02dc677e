import type { FastifyRequest } from 'fastify';
import type { Talk, Theme } from '../platform/db/schema.js';

/** A page for a talk's short URL, rendered by the feature that owns that state of the talk (live room, replay). */
export type PageRenderer = (talk: Talk, theme: Theme | null, request: FastifyRequest) => Promise<string>;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A plain server-rendered page: the talk's name, time and description, with preview tags. */
export function renderTalkPage(talk: Talk, theme: Theme | null, url: string): string {
  const name = escapeHtml(talk.name);
  const description = escapeHtml(talk.description ?? '');
  const when = talk.start_time ? `<p><time datetime="${talk.start_time.toISOString()}">${talk.start_time.toUTCString()}</time></p>` : '';
  const colors = theme?.colors ?? {};
  const bg = escapeHtml(colors.background ?? '#0f172a');
  const fg = escapeHtml(colors.text ?? '#f8fafc');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${name} · smalltalk</title>
<meta name="description" content="${description}">
<meta property="og:title" content="${name}"><meta property="og:description" content="${description}">
<meta property="og:type" content="website"><meta property="og:url" content="${escapeHtml(url)}">
<style>body{font-family:system-ui,sans-serif;background:${bg};color:${fg};margin:0;padding:2rem;max-width:40rem}</style>
</head><body><main><h1>${name}</h1>${when}<p>${description}</p>${talk.status === 'ended' ? '<p role="status">This talk has ended.</p>' : ''}</main></body></html>`;
}
