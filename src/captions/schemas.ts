import { Type } from '@sinclair/typebox';
import { Nullable, envelope, errorResponses } from '../platform/http.js';

export const CaptionSchema = Type.Object(
  {
    seq: Type.Integer({ description: 'Per-talk number, the same as in the next_caption webhook.' }),
    message: Type.String(),
    fullname: Type.String(),
    username: Nullable(Type.String()),
    avatar_url: Nullable(Type.String()),
    user_id: Nullable(Type.String()),
    uid: Nullable(Type.String()),
    participant_id: Type.String(),
    timestamp: Type.String({ description: 'When the phrase began (ISO 8601).' }),
  },
  { $id: 'Caption' },
);

export const listCaptionsSchema = {
  summary: "A talk's live captions",
  tags: ['talks'],
  operationId: 'listCaptions',
  description: 'Every caption recognized while the talk was live, in `seq` order, whether or not it was recorded. `after_seq` pages on.',
  params: Type.Object({ id: Type.String() }),
  querystring: Type.Object({
    after_seq: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
  }),
  response: { 200: envelope('captions', Type.Array(Type.Ref(CaptionSchema))), ...errorResponses(400, 401, 404) },
};
