import type { Talk, Theme } from '../platform/db/schema.js';
import { httpUrl } from '../platform/http.js';
import { assetTags } from '../platform/web.js';
import { themeVariables } from '../rooms/page.js';
import { escapeHtml } from '../talks/page.js';
import { previewTags, scriptJson } from '../talks/html.js';

export interface SeriesItem {
  name: string;
  url: string;
  start_time: string | null;
  status: string;
  replay: boolean;
}

export interface SeriesPage {
  head: Talk;
  url: string;
  upcoming: SeriesItem[];
  past: SeriesItem[];
  subscribeUrl: string | null;
  /** Set after a subscription form was sent. */
  subscribed?: string;
}

const item = (t: SeriesItem) => {
  const when = t.start_time ? `<time datetime="${t.start_time}">${new Date(t.start_time).toUTCString().replace(/:00 GMT$/, ' UTC')}</time>` : 'No time set';
  const what = t.status === 'live' ? ' · live now' : t.status === 'ended' ? (t.replay ? ' · replay' : ' · ended') : '';
  return `<li><a href="${escapeHtml(t.url)}">${when}</a>${what}</li>`;
};

/**
 * A recurring talk's own page (`/t/<code>/series`): its next talks and its past ones with their
 * replays, and a subscription form for every occurrence. Rendered by the server in full (it reads
 * without JavaScript); the `replay` bundle adds the rule in words and local times.
 */
export function renderSeriesPage(p: SeriesPage, theme: Theme | null): string {
  const { head } = p;
  let assets = '';
  try {
    assets = assetTags('replay');
  } catch {
    assets = '<!-- the front end is not built: run npm run build -->';
  }
  const description = head.description || `A recurring talk on smalltalk: ${p.upcoming.length} upcoming.`;
  const logo = httpUrl(theme?.logo_url);
  const form = p.subscribeUrl
    ? `<section class="card" aria-labelledby="subscribe"><h2 id="subscribe">Get an email before each talk</h2>${
        p.subscribed
          ? `<p role="status">Subscribed: ${escapeHtml(p.subscribed)} will get an email before each talk of this series, and when a replay is ready. Every email has a link to unsubscribe.</p>`
          : `<form method="post" action="${escapeHtml(p.subscribeUrl)}"><label for="sub-email">Email</label><input id="sub-email" name="email" type="email" required autocomplete="email" maxlength="254"><label for="sub-name">Name (optional)</label><input id="sub-name" name="name" autocomplete="name" maxlength="60"><button type="submit">Subscribe to the series</button></form>`
      }</section>`
    : '';
  const data = {
    series: {
      name: head.name,
      description: head.description,
      schedule: head.schedule,
      start_time: head.start_time?.toISOString() ?? null,
      url: p.url,
    },
    upcoming: p.upcoming,
    past: p.past,
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(head.name)} (series) · smalltalk</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${previewTags({ title: `${head.name} (series)`, description, url: p.url, image: httpUrl(head.thumbnail_url) })}
${assets}
<style>:root{${escapeHtml(themeVariables(theme?.colors as Record<string, unknown> | undefined))}}</style>
</head><body><main class="page series">${logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="">` : ''}
<header class="talk-header"><p class="eyebrow">Series</p><h1>${escapeHtml(head.name)}</h1><p id="series-rule" class="muted"></p><p>${escapeHtml(head.description ?? '')}</p></header>
<section class="card" aria-labelledby="upcoming"><h2 id="upcoming">Upcoming</h2>${p.upcoming.length ? `<ol class="plain occurrences">${p.upcoming.map(item).join('')}</ol>` : '<p>No upcoming talks.</p>'}</section>
<section class="card" aria-labelledby="past"><h2 id="past">Past talks and replays</h2>${p.past.length ? `<ol class="plain occurrences">${p.past.map(item).join('')}</ol>` : '<p>None yet.</p>'}</section>
${form}
</main>
<script type="application/json" id="series-data">${scriptJson(data)}</script>
</body></html>`;
}
