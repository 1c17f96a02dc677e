import { Type } from '@sinclair/typebox';
import type { App } from '../platform/http.js';
import { envelope, errorResponses, Nullable } from '../platform/http.js';
import type { Services } from '../services.js';

const ParticipantSchema = Type.Object({
  participant_id: Type.String(),
  name: Type.String(),
  role: Type.Union([Type.Literal('host'), Type.Literal('speaker'), Type.Literal('listener')]),
  photo_url: Nullable(Type.String()),
});

export const listParticipantsSchema = {
  summary: 'Who is in a live talk now',
  tags: ['live'],
  operationId: 'listParticipants',
  description: "The people connected to the talk's room at this moment (empty when the talk is not live). The dashboard polls it.",
  params: Type.Object({ id: Type.String({ description: 'The talk id.' }) }),
  response: { 200: envelope('participants', Type.Array(ParticipantSchema)), ...errorResponses(401, 404) },
};

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
