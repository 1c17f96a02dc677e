import type { FastifyRequest } from 'fastify';
import type { Talk, Theme } from '../platform/db/schema.js';
import { assetTags } from '../platform/web.js';
import { previewTags } from '../talks/html.js';
import { httpUrl } from '../platform/http.js';
import { escapeHtml } from '../talks/page.js';
import { DEFAULT_THEME_COLORS, contrastProblems, parseHex, textOn } from '../themes/contrast.js';
import type { TalkPageData } from './page-data.js';
import type { LiveRooms } from './service.js';

/**
 * The theme's colors as the page's CSS variables, with the text on its accent (buttons) worked out.
 * A theme saved before contrast was checked, whose text does not reach WCAG AA on its background
 * or cards, gets near-black or white text instead (whichever reads better on its background), and
 * its cards the background's color if that text would not read on them.
 */
export function themeVariables(colors: Record<string, unknown> | null | undefined): string {
  const picked: Partial<Record<keyof typeof DEFAULT_THEME_COLORS, string>> = {};
  for (const key of Object.keys(DEFAULT_THEME_COLORS) as (keyof typeof DEFAULT_THEME_COLORS)[]) {
    const v = colors?.[key];
    if (typeof v === 'string' && parseHex(v)) picked[key] = v;
  }
  if (Object.keys(picked).length === 0) return '';
  const all = { ...DEFAULT_THEME_COLORS, ...picked };
  if (contrastProblems(all).length > 0) {
    all.text = textOn(all.background);
    // Cards the new text cannot be read on take the background's color.
    if (contrastProblems(all).length > 0) all.surface = all.background;
  }
  const vars: Record<string, string> = { ...all, 'accent-text': textOn(all.accent) };
  return Object.entries(vars)
    .map(([k, v]) => `--theme-${k}:${v};`)
    .join('');
}

/** Who is in the talk now, as the page shows them before joining (no ids: names, roles and photos only). */
export async function presentPeople(rooms: LiveRooms, talk: Talk): Promise<TalkPageData['present']> {
  return (await rooms.present(talk)).map((p) => ({ name: p.name, role: p.role, photo_url: httpUrl(p.photoUrl) }));
}

/** The talk page: server-rendered preview (title, Open Graph, the talk's text) around the Preact bundle. */
export function talkPageRenderer(rooms: LiveRooms, shortUrl: (t: Talk) => string, options: { transcribes: boolean } = { transcribes: false }) {
  return async (talk: Talk, theme: Theme | null, _request: FastifyRequest): Promise<string> => {
    const name = escapeHtml(talk.name);
    const description = escapeHtml(talk.description ?? '');
    const url = shortUrl(talk);
    const logo = httpUrl(theme?.logo_url);
    const background = httpUrl(theme?.background_url);
    const colors = themeVariables(theme?.colors as Record<string, unknown> | undefined);
    const data: TalkPageData = {
      talk: {
        id: talk.id,
        code: talk.short_code,
        name: talk.name,
        description: talk.description,
        start_time: talk.start_time?.toISOString() ?? null,
        end_time: talk.end_time?.toISOString() ?? null,
        status: talk.status,
        access: talk.access,
        room_type: talk.room_type,
        mic_behavior: talk.mic_behavior,
        subscriptions_allowed: talk.subscriptions_allowed,
        // Said before anyone joins: the talk is recorded (and then transcribed, when an engine is set).
        recording: talk.recording,
        transcribed: talk.recording && options.transcribes,
        url,
        // Any talk's code leads to its series' page (/t/<code>/series), so no lookup of the first talk.
        series_url: talk.schedule || talk.schedule_talk_id ? `${url}/series` : null,
      },
      theme: { logo_url: logo, background_url: background },
      present: await presentPeople(rooms, talk),
    };
    // JSON inside <script>: '<' escaped so no "</script>" can end the block early.
    const json = JSON.stringify(data).replace(/</g, '\\u003c');
    let assets = '';
    try {
      assets = assetTags('talk');
    } catch {
      assets = '<!-- the front end is not built: run npm run build -->';
    }
    const when = talk.start_time ? `<p><time datetime="${talk.start_time.toISOString()}">${talk.start_time.toUTCString()}</time></p>` : '';
    const bg = background ? `background-image:url("${escapeHtml(background)}");` : '';
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${name} · smalltalk</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${previewTags({ title: talk.name, description: talk.description || `${talk.name}: a live audio talk on smalltalk.`, url, image: httpUrl(talk.thumbnail_url) })}
${assets}
<style>:root{${escapeHtml(colors)}}body{${bg}}</style>
</head><body><div id="app"><main class="fallback">${logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="">` : ''}<h1>${name}</h1>${when}<p>${description}</p>${talk.status === 'ended' ? '<p role="status">This talk has ended.</p>' : '<noscript>Joining the live audio needs JavaScript.</noscript>'}</main></div>
<script type="application/json" id="talk-data">${json}</script>
</body></html>`;
  };
}
