import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../platform/db/index.js';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import { escapeHtml } from '../talks/page.js';

/** The site's icon: a speech bubble with a sound wave, in the default accent. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#0f172a"/><path d="M14 16h36a6 6 0 0 1 6 6v18a6 6 0 0 1-6 6H30l-10 9v-9h-6a6 6 0 0 1-6-6V22a6 6 0 0 1 6-6z" fill="#38bdf8"/><path d="M22 31v2M28 26v12M34 23v18M40 28v8" stroke="#0f172a" stroke-width="3.5" stroke-linecap="round"/></svg>`;

interface PublicTalk {
  name: string;
  short_code: string;
  start_time: Date | null;
  status: string;
  partner: string;
  /** Later occurrences of its series (upcoming), folded into this one. */
  more: number;
}

/**
 * The public talks (access `anyone`) of every partner on this server, for the home page: live now,
 * upcoming (a recurring series once, at its next occurrence), and recently ended. Platform-wide on
 * purpose: shown only when the operator turns HOME_PUBLIC_TALKS on.
 */
export async function publicTalks(db: Queryable, now = new Date()) {
  const base = () =>
    db
      .selectFrom('talks as t')
      .innerJoin('partners as p', 'p.id', 't.partner_id')
      .select(['t.name', 't.short_code', 't.start_time', 't.status', 'p.name as partner'])
      .where('t.access', '=', 'anyone');
  const live = await base().where('t.status', '=', 'live').orderBy('t.started_at', 'desc').limit(20).execute();
  const upcomingRows = await base()
    .select([sql<string>`coalesce(t.schedule_talk_id, t.id)`.as('series')])
    .where('t.status', '=', 'scheduled')
    .where('t.start_time', '>', now)
    .orderBy('t.start_time')
    .limit(200)
    .execute();
  const upcoming: PublicTalk[] = [];
  const bySeries = new Map<string, PublicTalk>();
  for (const { series, ...row } of upcomingRows) {
    const first = bySeries.get(series);
    if (first) first.more++;
    else if (upcoming.length < 20) {
      const item = { ...row, more: 0 };
      bySeries.set(series, item);
      upcoming.push(item);
    }
  }
  const past = await base().where('t.status', '=', 'ended').orderBy('t.ended_at', 'desc').limit(20).execute();
  return { live: live.map((r) => ({ ...r, more: 0 })), upcoming, past: past.map((r) => ({ ...r, more: 0 })) };
}

function talkList(title: string, talks: PublicTalk[], base: string, empty: string): string {
  const items = talks
    .map((t) => {
      const when = t.start_time
        ? ` <time datetime="${t.start_time.toISOString()}">${escapeHtml(t.start_time.toUTCString().replace(/:00 GMT$/, ' UTC'))}</time>`
        : '';
      const more = t.more > 0 ? ` <span class="more">and ${t.more} more in this series</span>` : '';
      return `<li><a href="${escapeHtml(`${base}/t/${t.short_code}`)}">${escapeHtml(t.name)}</a> <span class="by">by ${escapeHtml(t.partner)}</span>${when}${more}</li>`;
    })
    .join('');
  return `<section aria-labelledby="h-${title.toLowerCase().replace(/\W+/g, '-')}"><h2 id="h-${title.toLowerCase().replace(/\W+/g, '-')}">${escapeHtml(title)}</h2>${
    items ? `<ul>${items}</ul>` : `<p>${escapeHtml(empty)}</p>`
  }</section>`;
}

const STYLE = `:root{--bg:#0f172a;--surface:#1e293b;--text:#f8fafc;--accent:#38bdf8;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:var(--text);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}main{max-width:44rem;margin:0 auto;padding:1.5rem 1rem;display:grid;gap:1.25rem}
h1{font-size:2rem;margin:0}a{color:var(--accent)}:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.actions{display:flex;gap:.75rem;flex-wrap:wrap}.button{display:inline-flex;align-items:center;min-height:44px;padding:.5em 1em;border-radius:10px;border:2px solid var(--accent);background:var(--accent);color:#0f172a;font-weight:600;text-decoration:none}
.button.secondary{background:transparent;color:var(--text)}section{background:var(--surface);border-radius:10px;padding:1rem}section h2{margin:0 0 .5rem;font-size:1.2rem}
ul{margin:0;padding-left:1.2rem}li{margin:.35rem 0}.by,.more,time{color:#cbd5e1}.brand{display:flex;gap:.6rem;align-items:center}.brand img{width:40px;height:40px}`;

/** `/`: what this server is, sign-in and sign-up links, and (when enabled) its partners' public talks. */
export async function homeRoutes(app: FastifyInstance, services: { config: Config; db: DatabaseHandle }) {
  const base = services.config.PUBLIC_URL.replace(/\/$/, '');
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    let listing = '';
    if (services.config.HOME_PUBLIC_TALKS) {
      const talks = await publicTalks(services.db.db);
      listing = [
        talkList('Live now', talks.live, base, 'Nothing is live right now.'),
        talkList('Upcoming', talks.upcoming, base, 'No public talks are scheduled.'),
        talkList('Past talks', talks.past, base, 'No public talks have happened yet.'),
      ].join('\n');
    }
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>smalltalk · live audio talks</title>
<meta name="description" content="A self-hosted platform for live audio talks: host, listen, record and transcribe.">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>${STYLE}</style>
</head><body><main>
<header class="brand"><img src="/favicon.svg" alt=""><h1>smalltalk</h1></header>
<p>This server hosts live audio talks: hosts and speakers talk, everyone else listens from a browser, raises a hand to join in, and gets captions as they speak. Talks can be recorded and transcribed.</p>
<p>Organizations run their talks from the dashboard or through the partner API; listeners need no account, only a talk's link.</p>
<p class="actions"><a class="button" href="/dashboard/login">Sign in</a><a class="button secondary" href="/dashboard/signup">Create an account</a><a class="button secondary" href="/docs">API documentation</a></p>
${listing}
</main></body></html>`;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  });
  for (const path of ['/favicon.svg', '/favicon.ico']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON_SVG),
    );
  }
}
