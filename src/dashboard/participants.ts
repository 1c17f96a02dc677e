import type { App } from '../platform/http.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { listParticipantsSchema } from './schemas.js';

/** GET /api/v1/partners/talks/:id/participants, read from the live rooms. */
export async function participantRoutes(app: App, services: { talks: TalksService; live: LiveTalks }) {
  app.get('/api/v1/partners/talks/:id/participants', { schema: listParticipantsSchema }, async (request) => {
    const talk = await services.talks.get(request.partner.partnerId, request.params.id);
    const present = await services.live.present(talk);
    return {
      participants: present.map((p) => ({ participant_id: p.participantId, name: p.name, role: p.role, photo_url: p.photoUrl })),
      error: null,
    };
  });
}
