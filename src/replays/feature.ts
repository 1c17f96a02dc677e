import type { App } from '../platform/http.js';
import { AppError } from '../platform/errors.js';
import type { TranscriptionJson } from '../transcription/schema.js';
import { SubscribeBody } from '../rooms/schemas.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { Feature } from '../platform/feature.js';
import type { PageRenderer } from '../talks/page.js';
import type { ThemesService } from '../themes/service.js';
import { toSrt, toTxt, toVtt } from '../transcription/formats.js';
import { type ReplayPageDeps, replayPageRenderer, replayState, transcriptFiles } from './page.js';
import { ReplaysRepository, seriesIdOf } from './repository.js';
import { type SeriesItem, renderSeriesPage } from './series.js';

const formats = {
  vtt: { type: 'text/vtt; charset=utf-8', body: toVtt },
  srt: { type: 'application/x-subrip; charset=utf-8', body: toSrt },
  txt: { type: 'text/plain; charset=utf-8', body: toTxt },
} as const;

export interface ReplaysDeps extends ReplayPageDeps {
  db: DatabaseHandle;
  themes: ThemesService;
}

/** What the talk page uses: an ended talk's page, its replay. */
export interface ReplaysFeature extends Feature {
  renderReplayPage: PageRenderer;
}

/**
 * After a talk: its short URL becomes its replay page (public recordings), its transcript downloads
 * publicly alongside, and a recurring talk gets a series page.
 */
export function createReplays(services: ReplaysDeps): ReplaysFeature {
  const repo = new ReplaysRepository(services.db.db);
  const publicRoutes = async (app: App) => {
    for (const ext of Object.keys(transcriptFiles) as (keyof typeof transcriptFiles)[]) {
      // Public only: the same answer (404) for a private recording, one being finished, and none.
      app.get(`/t/:code/transcript.${ext}`, { schema: { hide: true } }, async (request, reply) => {
        const talk = await services.talks.byShortCode((request.params as { code: string }).code);
        const rec = talk && talk.status === 'ended' ? await repo.recordingOf(talk.partner_id, talk.id) : undefined;
        const transcript = rec && replayState(rec) === 'replay' ? (rec.transcription as TranscriptionJson | null) : null;
        if (!talk || !transcript) throw new AppError('not_found', 'no public transcript at this address');
        const base = talk.short_code.replace(/[^A-Za-z0-9_-]/g, '');
        return reply
          .type(formats[ext].type)
          .header('content-disposition', `attachment; filename="${base}-transcript.${ext}"`)
          .header('cache-control', 'public, max-age=300')
          .send(formats[ext].body(transcript));
      });
    }

    const seriesPage = async (code: string, subscribed?: string) => {
      const talk = await services.talks.byShortCode(code);
      const seriesId = talk && seriesIdOf(talk);
      if (!talk || !seriesId) throw new AppError('not_found', 'no series at this address');
      const all = await repo.seriesTalks(talk.partner_id, seriesId);
      const head = all.find((t) => t.id === seriesId);
      if (!head) throw new AppError('not_found', 'no series at this address');
      const replays = await repo.publicReplays(
        talk.partner_id,
        all.filter((t) => t.status === 'ended').map((t) => t.id),
      );
      const toItem = (t: (typeof all)[number]): SeriesItem => ({
        name: t.name,
        url: services.talks.shortUrl(t),
        start_time: t.start_time?.toISOString() ?? null,
        status: t.status,
        replay: replays.has(t.id),
      });
      const theme = head.theme_id ? await services.themes.getForPage(head.partner_id, head.theme_id) : null;
      const url = `${services.talks.shortUrl(head)}/series`;
      return {
        head,
        html: renderSeriesPage(
          {
            head,
            url,
            upcoming: all
              .filter((t) => t.status !== 'ended')
              .slice(0, 12)
              .map(toItem),
            past: all
              .filter((t) => t.status === 'ended')
              .reverse()
              .slice(0, 50)
              .map(toItem),
            subscribeUrl: head.subscriptions_allowed ? `${url}/subscribe` : null,
            subscribed,
          },
          theme,
        ),
      };
    };

    app.get('/t/:code/series', { schema: { hide: true } }, async (request, reply) => {
      const { html } = await seriesPage((request.params as { code: string }).code);
      return reply.type('text/html; charset=utf-8').send(html);
    });

    // The series page's form (no JavaScript needed): a subscription to the series' first talk covers every occurrence.
    app.post('/t/:code/series/subscribe', { schema: { hide: true, body: SubscribeBody } }, async (request, reply) => {
      const { code } = request.params as { code: string };
      const body = request.body as { email: string; name?: string };
      const talk = await services.talks.byShortCode(code);
      const seriesId = talk && seriesIdOf(talk);
      const head = seriesId && talk ? await repo.byId(talk.partner_id, seriesId) : undefined;
      if (!head) throw new AppError('not_found', 'no series at this address');
      if (!head.subscriptions_allowed) throw new AppError('forbidden', 'this series does not take subscriptions');
      await services.db.db
        .insertInto('talk_subscriptions')
        .values({ partner_id: head.partner_id, talk_id: head.id, email: body.email.trim(), name: body.name?.trim() || null })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const { html } = await seriesPage(code, body.email.trim());
      return reply.type('text/html; charset=utf-8').send(html);
    });
  };
  return { name: 'replays', renderReplayPage: replayPageRenderer(services, repo), publicRoutes };
}
