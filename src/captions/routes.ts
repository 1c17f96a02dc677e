import type { App } from '../platform/http.js';
import { iso } from '../platform/http.js';
import { notFound } from '../platform/errors.js';
import type { TalksService } from '../talks/service.js';
import type { CaptionsRepository } from './repository.js';
import { CaptionSchema, listCaptionsSchema } from './schemas.js';

/** GET /api/v1/partners/talks/:id/captions */
export function captionRoutes(repo: CaptionsRepository, talks: TalksService) {
  return async (app: App) => {
    app.addSchema(CaptionSchema);
    app.get('/api/v1/partners/talks/:id/captions', { schema: listCaptionsSchema }, async (request) => {
      const { partnerId } = request.partner;
      const talk = await talks.find(partnerId, request.params.id);
      if (!talk) throw notFound('talk');
      const rows = await repo.list(partnerId, talk.id, { afterSeq: request.query.after_seq, limit: request.query.limit });
      return {
        captions: rows.map((c) => ({
          seq: Number(c.seq),
          message: c.text,
          fullname: c.name,
          username: c.username,
          avatar_url: c.avatar_url,
          user_id: c.user_id,
          uid: c.uid,
          participant_id: c.participant_id,
          timestamp: iso(c.spoken_at) as string,
        })),
        error: null,
      };
    });
  };
}
