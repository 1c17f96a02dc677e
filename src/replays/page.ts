import type { FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../platform/auth.js';
import type { Recording, Talk, Theme } from '../platform/db/schema.js';
import { httpUrl } from '../platform/http.js';
import { assetTags } from '../platform/web.js';
import type { TranscriptionJson } from '../transcription/schema.js';
import { themeVariables } from '../rooms/page.js';
import type { AccountsService } from '../accounts/service.js';
import type { Config } from '../platform/config.js';
import type { RecordingsService } from '../recordings/service.js';
import type { TalksService } from '../talks/service.js';
import { escapeHtml } from '../talks/page.js';
import { previewTags, scriptJson } from '../talks/html.js';
import { type ReplaysRepository, seriesIdOf } from './repository.js';

/** What an ended talk's short URL shows. */
export type ReplayState = 'replay' | 'pending' | 'ended';

/**
 * The state of an ended talk's page: `replay` when its recording is public and ready (the transcript
 * may still be on its way), `pending` while a public recording is being finished, `ended` otherwise
 * (no recording, a failed one, or a private one).
 */
export function replayState(rec: Recording | undefined): ReplayState {
  if (rec?.share_permission !== 'public' || rec.status === 'failed') return 'ended';
  return rec.status === 'ready' ? 'replay' : 'pending';
}

export const transcriptFiles = { vtt: 'Subtitles (.vtt)', srt: 'Subtitles (.srt)', txt: 'Text (.txt)' } as const;

/**
 * The replay page: a talk's short URL once the talk has ended. Rendered by the server (title, link
 * previews, the state in words, which reads without JavaScript) around the `replay` bundle, which
 * plays the audio beside the transcript.
 */
/** What the replay page reads. */
export interface ReplayPageDeps {
  config: Config;
  talks: TalksService;
  accounts: AccountsService;
  recordings: RecordingsService;
}

export function replayPageRenderer(services: ReplayPageDeps, repo: ReplaysRepository) {
  return async (talk: Talk, theme: Theme | null, request: FastifyRequest): Promise<string> => {
    const rec = await repo.recordingOf(talk.partner_id, talk.id);
    const state = replayState(rec);
    const url = services.talks.shortUrl(talk);
    const seriesId = seriesIdOf(talk);
    const head = seriesId ? (seriesId === talk.id ? talk : await repo.byId(talk.partner_id, seriesId)) : undefined;
    // The partner's own signed-in people get a link to the dashboard's copy of a recording the public cannot hear.
    let dashboardUrl: string | null = null;
    if (rec && state === 'ended' && rec.status !== 'failed') {
      const user = await services.accounts.resolveSession(request.cookies?.[SESSION_COOKIE]);
      if (user && (await services.accounts.isMember(talk.partner_id, user.userId))) dashboardUrl = `/dashboard/o/${talk.partner_id}/recordings/${rec.id}`;
    }
    const transcript = state === 'replay' ? ((rec?.transcription as TranscriptionJson | null) ?? null) : null;
    const audioUrl = state === 'replay' && rec ? services.recordings.fileUrl(rec, rec.file_name) : null;
    const logo = httpUrl(theme?.logo_url);
    const background = httpUrl(theme?.background_url);
    const data = {
      talk: {
        name: talk.name,
        description: talk.description,
        start_time: talk.start_time?.toISOString() ?? null,
        url,
        series_url: head ? `${services.talks.shortUrl(head)}/series` : null,
      },
      state,
      recording:
        state === 'replay' && rec
          ? {
              audio_url: audioUrl,
              file_name: rec.file_name,
              duration: rec.duration,
              segments: transcript?.segments.map((s) => ({ start: s.start, end: s.end, text: s.text, speaker: s.speaker.name })) ?? null,
              transcript_pending: !transcript && services.config.TRANSCRIBE_ENGINE !== 'none',
              downloads: transcript ? Object.entries(transcriptFiles).map(([ext, label]) => ({ label, href: `${url}/transcript.${ext}` })) : [],
            }
          : null,
      dashboard_url: dashboardUrl,
      theme: { logo_url: logo },
    };
    let assets = '';
    try {
      assets = assetTags('replay');
    } catch {
      assets = '<!-- the front end is not built: run npm run build -->';
    }
    const when = talk.start_time ? `<p><time datetime="${talk.start_time.toISOString()}">${talk.start_time.toUTCString()}</time></p>` : '';
    const said =
      state === 'pending'
        ? '<p role="status">This talk has ended. The replay will be here shortly: the recording is being finished and transcribed.</p>'
        : state === 'ended'
          ? `<p role="status">This talk has ended.</p>${dashboardUrl ? `<p><a href="${escapeHtml(dashboardUrl)}">Listen to the recording in the dashboard</a> (you are signed in to its team; the recording is not public).</p>` : ''}`
          : audioUrl
            ? `<p><a href="${escapeHtml(audioUrl)}">Listen to the recording</a></p>`
            : '';
    const title = state === 'replay' ? `Replay: ${talk.name}` : talk.name;
    const description =
      talk.description || (state === 'replay' ? `Listen to the replay of ${talk.name}, with its transcript.` : `${talk.name}: a talk on smalltalk.`);
    const bg = background ? `background-image:url("${escapeHtml(background)}");` : '';
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · smalltalk</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${previewTags({ title, description, url, image: httpUrl(talk.thumbnail_url), type: state === 'replay' ? 'music.song' : 'website', audio: audioUrl })}
${assets}
<style>:root{${escapeHtml(themeVariables(theme?.colors as Record<string, unknown> | undefined))}}body{${bg}}</style>
</head><body><div id="app"><main class="page fallback">${logo ? `<img class="logo" src="${escapeHtml(logo)}" alt="">` : ''}<h1>${escapeHtml(talk.name)}</h1>${when}<p>${escapeHtml(talk.description ?? '')}</p>${said}${data.talk.series_url ? `<p><a href="${escapeHtml(data.talk.series_url)}">More talks in this series</a></p>` : ''}</main></div>
<script type="application/json" id="replay-data">${scriptJson(data)}</script>
</body></html>`;
  };
}
