import { type Static, Type } from '@sinclair/typebox';
import { Nullable, PaginationQuery, envelope, errorResponses } from '../platform/http.js';
import { TranscriptionSchema } from '../transcription/schema.js';

export const RecordingSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    talk_id: Type.String(),
    created_at: Type.String(),
    start_time: Type.String(),
    end_time: Nullable(Type.String()),
    duration: Nullable(Type.Number({ description: 'Seconds.' })),
    file_name: Type.String(),
    size: Nullable(Type.Number({ description: 'Bytes.' })),
    share_permission: Type.Union([Type.Literal('private'), Type.Literal('public')]),
    created_by_id: Nullable(Type.String()),
    user_id: Nullable(Type.String()),
    status: Type.Union([Type.Literal('recording'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')]),
    failure_reason: Type.Optional(Nullable(Type.String({ description: 'Why the recording failed (status `failed`); null otherwise.' }))),
    url: Nullable(
      Type.String({
        description:
          'Download URL (signed, expiring, for private recordings). Streams and seeks: Range requests get 206 (416 when unsatisfiable), HEAD, ETag/If-Range/If-None-Match and Last-Modified. With S3 storage it redirects (302) to a short-lived presigned URL of the object, which serves the ranges.',
      }),
    ),
    tracks: Type.Array(
      Type.Object({
        name: Type.String(),
        username: Nullable(Type.String()),
        user_id: Nullable(Type.String()),
        uid: Nullable(Type.String()),
        file_name: Type.String(),
        offset: Type.Number(),
        url: Type.String({ description: "Download URL of the track, signed and served like the recording's `url`." }),
      }),
      { description: "Each speaker's own audio." },
    ),
    transcription: Nullable(Type.Ref(TranscriptionSchema)),
  },
  { $id: 'Recording' },
);
export type RecordingJson = Static<typeof RecordingSchema>;

const IdParams = Type.Object({ id: Type.String() });

export const listRecordingsSchema = {
  summary: 'Get recordings for talks or 1 talk',
  tags: ['recordings'],
  operationId: 'listRecordings',
  description: 'Newest first. `talk_id` (query string) limits to one talk.',
  querystring: Type.Object({ talk_id: Type.Optional(Type.String()), ...PaginationQuery }),
  response: { 200: envelope('recordings', Type.Array(Type.Ref(RecordingSchema)), { list: true }), ...errorResponses(400, 401, 404) },
};

export const getRecordingSchema = {
  summary: 'Get a recording',
  tags: ['recordings'],
  operationId: 'getRecording',
  params: IdParams,
  response: { 200: envelope('recording', Type.Ref(RecordingSchema)), ...errorResponses(401, 404) },
};

export const updateRecordingSchema = {
  summary: "Change a recording's share permission",
  tags: ['recordings'],
  operationId: 'updateRecording',
  params: IdParams,
  body: Type.Object({ share_permission: Type.Union([Type.Literal('private'), Type.Literal('public')]) }),
  response: { 200: envelope('recording', Type.Ref(RecordingSchema)), ...errorResponses(400, 401, 404) },
};

export const deleteRecordingSchema = {
  summary: 'Delete a recording and its files',
  tags: ['recordings'],
  operationId: 'deleteRecording',
  params: IdParams,
  response: { 200: envelope('recording', Type.Ref(RecordingSchema)), ...errorResponses(401, 404) },
};

export const transcriptFormats = ['json', 'vtt', 'srt', 'txt'] as const;
/** The media type each text export is sent with (the route sets it; the document declares it). */
export const transcriptMediaTypes = { vtt: 'text/vtt', srt: 'application/x-subrip', txt: 'text/plain' } as const;

export const getTranscriptSchema = (format: (typeof transcriptFormats)[number]) => ({
  summary: `Export a recording's transcript as ${format}`,
  tags: ['recordings'],
  operationId: `getTranscript${format[0].toUpperCase()}${format.slice(1)}`,
  description:
    format === 'json'
      ? 'The transcript: segments in time order, each with its speaker. 404 until transcription_ready has fired.'
      : `The transcript as ${format === 'txt' ? 'plain text, one line per segment with its speaker' : format.toUpperCase()}. 404 until transcription_ready has fired.`,
  params: IdParams,
  response:
    format === 'json'
      ? { 200: envelope('transcript', Type.Ref(TranscriptionSchema)), ...errorResponses(401, 404) }
      : {
          200: { description: `The transcript as ${format}`, content: { [transcriptMediaTypes[format]]: { schema: Type.String() } } },
          ...errorResponses(401, 404),
        },
});
