import type { App } from '../platform/http.js';
import type { AccountsService } from '../accounts/service.js';
import type { Config } from '../platform/config.js';
import type { ThemesService } from '../themes/service.js';
import type { TalksService } from './service.js';
import { TalkSchema, createTalkSchema, deleteTalkSchema, endTalkSchema, getTalkSchema, listTalksSchema, updateTalkSchema } from './schemas.js';
import { type PageRenderer, renderTalkPage } from './page.js';
import { AppError } from '../platform/errors.js';
import { allowFraming } from '../platform/security-headers.js';
import { etagMatches, sendJsonText } from '../platform/http.js';

/** The partner API for talks: the doc's two endpoints plus get/update/delete/end by id. */
export async function talkRoutes(app: App, talks: TalksService) {
  app.addSchema(TalkSchema);

  app.post('/api/p/talk', { schema: createTalkSchema }, async (request) => {
    const { talk, warnings } = await talks.create(request.partner.partnerId, request.partner.userId, request.body);
    return { talk: talks.toJson(talk), ...(warnings.length ? { warnings } : {}), error: null };
  });

  // The busiest read: the page is made by the database (json.ts) and kept until one of the
  // partner's talks changes (list-cache.ts). Its entity tag lets a polling client get a 304.
  app.get('/api/v1/partners/talks', { schema: listTalksSchema }, async (request, reply) => {
    const page = await talks.listPage(request.partner.partnerId, request.query);
    reply.header('etag', page.etag).header('cache-control', 'private, no-cache');
    if (etagMatches(request.headers['if-none-match'], page.etag)) return reply.code(304).send(null);
    return sendJsonText(reply, page.body);
  });

  app.get('/api/v1/partners/talks/:id', { schema: getTalkSchema }, async (request) => {
    return { talk: talks.toJson(await talks.get(request.partner.partnerId, request.params.id)), error: null };
  });

  app.patch('/api/v1/partners/talks/:id', { schema: updateTalkSchema }, async (request) => {
    const { talk, warnings } = await talks.update(request.partner.partnerId, request.params.id, request.body);
    return { talk: talks.toJson(talk), ...(warnings.length ? { warnings } : {}), error: null };
  });

  app.delete('/api/v1/partners/talks/:id', { schema: deleteTalkSchema }, async (request) => {
    return { talk: talks.toJson(await talks.delete(request.partner.partnerId, request.params.id)), error: null };
  });

  app.post('/api/v1/partners/talks/:id/end', { schema: endTalkSchema }, async (request) => {
    return { talk: talks.toJson(await talks.end(request.partner.partnerId, request.params.id)), error: null };
  });
}

/** What the talk page needs: the talk, its theme, where it may be framed, and the pages the live room and the replays render. */
export interface TalkPageDeps {
  config: Config;
  talks: TalksService;
  themes: ThemesService;
  accounts: AccountsService;
  /** The live talk page (the live-room feature's). */
  renderTalkPage?: PageRenderer;
  /** An ended talk's page, its replay (the replays feature's). */
  renderReplayPage?: PageRenderer;
}

/** The public page behind a talk's short URL. */
export async function talkPageRoutes(app: App, services: TalkPageDeps) {
  app.get('/t/:code', { schema: { hide: true } }, async (request, reply) => {
    const { code } = request.params as { code: string };
    const talk = await services.talks.byShortCode(code);
    if (!talk) throw new AppError('not_found', 'no talk at this address');
    const theme = talk.theme_id ? await services.themes.getForPage(talk.partner_id, talk.theme_id) : null;
    allowFraming(reply, services.config, await services.accounts.embedOrigins(talk.partner_id));
    const render = talk.status === 'ended' && services.renderReplayPage ? services.renderReplayPage : services.renderTalkPage;
    return reply.type('text/html; charset=utf-8').send((await render?.(talk, theme, request)) ?? renderTalkPage(talk, theme, services.talks.shortUrl(talk)));
  });
}
