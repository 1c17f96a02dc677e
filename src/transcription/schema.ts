import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from '../platform/http.js';

/** A transcript as the API returns it (a recording's `transcription`) and the exports render it. */
export const Speaker = Type.Object({
  user_id: Nullable(Type.String()),
  uid: Type.Optional(Nullable(Type.String())),
  username: Nullable(Type.String()),
  name: Type.String(),
});

export const TranscriptionSchema = Type.Object(
  {
    text: Type.String(),
    language: Type.String(),
    engine: Type.String(),
    segments: Type.Array(
      Type.Object({
        start: Type.Number(),
        end: Type.Number(),
        text: Type.String(),
        speaker: Speaker,
        words: Type.Optional(
          Type.Array(Type.Object({ word: Type.String(), start: Type.Number(), end: Type.Number() }), {
            description: 'Word times, when the engine gives them.',
          }),
        ),
      }),
    ),
  },
  { $id: 'Transcription', description: 'Segments in time order, each with its speaker.' },
);

export type TranscriptionJson = Static<typeof TranscriptionSchema>;
