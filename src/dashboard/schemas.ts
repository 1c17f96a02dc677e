import { Type } from '@sinclair/typebox';
import { envelope, errorResponses, Nullable } from '../platform/http.js';

export const ParticipantSchema = Type.Object({
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
