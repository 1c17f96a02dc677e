import { type Static, Type } from '@sinclair/typebox';
import { Nullable, PaginationQuery, envelope, errorResponses } from '../platform/http.js';

export const RoomType = Type.Union([Type.Literal('default'), Type.Literal('questions'), Type.Literal('hosted_events')], {
  description:
    'What the talk room is used for. default: everyone may speak; questions: raise hands to ask; hosted_events: hosts and speakers on stage, audience listens.',
});
export const Access = Type.Union([Type.Literal('anyone'), Type.Literal('invite_only')], { description: 'Who may join.' });
export const MicBehavior = Type.Union([Type.Literal('start_off'), Type.Literal('start_on')], {
  description: 'Non-host mic setting on joining or being brought up.',
});

/** A talk as every endpoint returns it: the doc's fields, plus the ones it shows elsewhere. */
export const TalkSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    created_at: Type.String(),
    updated_at: Type.String(),
    name: Type.String(),
    description: Nullable(Type.String()),
    thumbnail_url: Nullable(Type.String()),
    created_by_id: Nullable(Type.String()),
    partner_id: Type.String(),
    price: Nullable(Type.Number()),
    currency: Nullable(Type.String()),
    start_time: Nullable(Type.String()),
    end_time: Nullable(Type.String()),
    short_url: Type.String(),
    schedule: Nullable(Type.String({ description: 'RFC 5545 RRULE of a recurring series (on its first talk).' })),
    schedule_talk_id: Nullable(Type.String({ description: "The series' first talk, on each later occurrence." })),
    access: Access,
    mic_behavior: MicBehavior,
    room_type: RoomType,
    theme_id: Nullable(Type.String()),
    subscriptions_allowed: Type.Boolean(),
    recording: Type.Boolean({ description: 'Whether the talk is recorded (default true).' }),
    status: Type.Union([Type.Literal('scheduled'), Type.Literal('live'), Type.Literal('ended')]),
    webrtc_listener_limit: Nullable(
      Type.Integer({
        description:
          "hosted_events: how many listeners hear the talk over WebRTC (a fraction of a second behind) before the next ones get its audience stream (hls_url, 1-2 s behind); null: the server's default (200 unless its operator set another).",
      }),
    ),
    hls_url: Nullable(
      Type.String({
        description:
          "While the talk is live, its audio as a low-latency HLS stream (the stage's mix, about 1-2 s behind) for the partner's own player (AVPlayer, ExoPlayer, hls.js); null otherwise. The URL carries a key: give it only to people who may listen.",
      }),
    ),
  },
  { $id: 'Talk' },
);
export type TalkJson = Static<typeof TalkSchema>;

const timeField = (what: string) => Type.Optional(Nullable(Type.String({ description: `${what} (ISO 8601 date-time; an empty string means not set)` })));

const talkFields = {
  name: Type.String({ description: 'The name of your talk (1 to 200 characters).' }),
  room_type: Type.Optional(RoomType),
  access: Type.Optional(Access),
  mic_behavior: Type.Optional(MicBehavior),
  theme_id: Type.Optional(Nullable(Type.String({ description: 'A theme of yours; an unknown id falls back to the default theme with a warning.' }))),
  start_time: timeField('Start time'),
  end_time: timeField('End time, after the start'),
  description: Type.Optional(Nullable(Type.String({ maxLength: 5000, description: 'Shown on the page before participants join.' }))),
  subscriptions_allowed: Type.Optional(Type.Boolean({ description: 'Whether users may subscribe to the talk.' })),
  schedule: Type.Optional(
    Nullable(Type.String({ description: 'An RRULE (e.g. FREQ=WEEKLY;BYDAY=TH) making this the first talk of a series; needs start_time.' })),
  ),
  recording: Type.Optional(Type.Boolean({ description: 'Record the talk (default true).' })),
  thumbnail_url: Type.Optional(Nullable(Type.String({ description: 'An http(s) image URL.' }))),
  price: Type.Optional(Nullable(Type.Number({ minimum: 0 }))),
  currency: Type.Optional(Nullable(Type.String({ pattern: '^[A-Za-z]{3}$' }))),
  webrtc_listener_limit: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 0,
        maximum: 100_000,
        description:
          'hosted_events: listeners on WebRTC before the next ones get the audience stream; null for the server default; 0 puts every listener on the stream.',
      }),
    ),
  ),
};

export const CreateTalkBody = Type.Object(talkFields);
export type CreateTalkInput = Static<typeof CreateTalkBody>;

export const UpdateTalkBody = Type.Partial(Type.Object(talkFields));
export type UpdateTalkInput = Static<typeof UpdateTalkBody>;

const TalkEnvelope = envelope('talk', Type.Ref(TalkSchema));

export const createTalkSchema = {
  summary: 'Create a talk',
  tags: ['talks'],
  operationId: 'createTalk',
  description: 'Make a talk for your org. JSON or form body. `name` is required.',
  body: CreateTalkBody,
  response: { 200: TalkEnvelope, ...errorResponses(400, 401, 409, 429) },
};

export const ListTalksQuery = Type.Object({
  talk_id: Type.Optional(Type.String({ description: 'Return only this talk.' })),
  room_type: Type.Optional(RoomType),
  status: Type.Optional(Type.Union([Type.Literal('scheduled'), Type.Literal('live'), Type.Literal('ended')])),
  start_after: Type.Optional(Type.String({ format: 'date-time', description: 'Talks starting at or after this time.' })),
  start_before: Type.Optional(Type.String({ format: 'date-time', description: 'Talks starting before this time.' })),
  schedule_talk_id: Type.Optional(Type.String({ description: 'Occurrences of this series.' })),
  q: Type.Optional(Type.String({ description: 'Name contains (case-insensitive).' })),
  ...PaginationQuery,
});
export type ListTalksFilter = Static<typeof ListTalksQuery>;

export const listTalksSchema = {
  summary: 'Get talks, or one talk by id',
  tags: ['talks'],
  operationId: 'listTalks',
  description:
    'Newest first. `talk_id` (query string, as `curl -G -d talk_id=…` sends it) returns that talk alone, or 404. ' +
    'Each answer carries an `ETag`; send it back in `If-None-Match` to get `304 Not Modified` while none of your talks changed.',
  querystring: ListTalksQuery,
  response: {
    200: envelope('talks', Type.Array(Type.Ref(TalkSchema)), { list: true }),
    304: Type.Null({ description: 'Not modified: the page is the one your If-None-Match names.' }),
    ...errorResponses(400, 401, 404, 429),
  },
};

const IdParams = Type.Object({ id: Type.String() });

export const getTalkSchema = {
  summary: 'Get one talk',
  tags: ['talks'],
  operationId: 'getTalk',
  params: IdParams,
  response: { 200: TalkEnvelope, ...errorResponses(401, 404) },
};

export const updateTalkSchema = {
  summary: 'Update a talk',
  tags: ['talks'],
  operationId: 'updateTalk',
  description:
    'Any field of creation. On the first talk of a series, a new `schedule` regenerates its upcoming occurrences and `schedule: null` ends the series (upcoming occurrences are deleted; past ones stay).',
  params: IdParams,
  body: UpdateTalkBody,
  response: { 200: TalkEnvelope, ...errorResponses(400, 401, 404) },
};

export const deleteTalkSchema = {
  summary: 'Delete a talk',
  tags: ['talks'],
  operationId: 'deleteTalk',
  description: 'Removes the talk from its groups. Deleting the first talk of a series deletes the series.',
  params: IdParams,
  response: { 200: TalkEnvelope, ...errorResponses(401, 404) },
};

export const endTalkSchema = {
  summary: 'End a live talk',
  tags: ['talks'],
  operationId: 'endTalk',
  description: 'Closes the room for everyone; the page then says the talk has ended.',
  params: IdParams,
  response: { 200: TalkEnvelope, ...errorResponses(401, 404) },
};
