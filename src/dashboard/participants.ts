import type { App } from '../platform/http.js';
import type { Services } from '../services.js';
import { listParticipantsSchema } from './schemas.js';

/** GET /api/v1/partners/talks/:id/participants, read from the live rooms (`services.live`). */
export async function participantRoutes(app: App, services: Services) {
  app.get('/api/v1/partners/talks/:id/participants', { schema: listParticipantsSchema }, async (request) => {
    const talk = await services.talks.get(request.partner.partnerId, request.params.id);
    const present = (await services.live?.present(talk)) ?? [];
    return {
      participants: present.map((p) => ({ participant_id: p.participantId, name: p.name, role: p.role, photo_url: p.photoUrl })),
      error: null,
    };
  });
}
