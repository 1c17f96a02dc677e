import type { App } from '../app.js';
import type { Services } from '../services.js';
import { TalkSchema, createTalkSchema, deleteTalkSchema, endTalkSchema, getTalkSchema, listTalksSchema, updateTalkSchema } from './schemas.js';
import { renderTalkPage } from './page.js';
import { AppError } from '../platform/errors.js';
import { sendJsonText } from '../platform/http.js';

/** The partner API for talks: the doc's two endpoints plus get/update/delete/end by id. */
export async function talkRoutes(app: App, { talks }: Services) {
  app.addSchema(TalkSchema);

  app.post('/api/p/talk', { schema: createTalkSchema }, async (request) => {
    const { talk, warnings } = await talks.create(request.partner.partnerId, request.partner.userId, request.body);
    return { talk: talks.toJson(talk), ...(warnings.length ? { warnings } : {}), error: null };
  });

  // The busiest read: each talk's JSON comes made by the database (json.ts) and is sent as is.
  app.get('/api/v1/partners/talks', { schema: listTalksSchema }, async (request, reply) => {
    const result = await talks.listJson(request.partner.partnerId, request.query);
    return sendJsonText(reply, `{"talks":[${result.items.join(',')}],"next_cursor":${JSON.stringify(result.next_cursor)},"error":null}`);
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

/** The public page behind a talk's short URL. */
export async function talkPageRoutes(app: App, services: Services) {
  app.get('/t/:code', { schema: { hide: true } }, async (request, reply) => {
    const { code } = request.params as { code: string };
    const talk = await services.talks.repo.byShortCode(code);
    if (!talk) throw new AppError('not_found', 'no talk at this address');
    const theme = talk.theme_id ? await services.themes.getForPage(talk.partner_id, talk.theme_id) : null;
    return reply
      .type('text/html; charset=utf-8')
      .send(services.renderTalkPage?.(talk, theme, request) ?? renderTalkPage(talk, theme, services.talks.shortUrl(talk)));
  });
}
