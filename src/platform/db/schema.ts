import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Row shapes of the tables, as the migrations create them. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string | T | undefined, string | T>;

export interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string;
  name: string;
  username: string | null;
  photo_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

export interface PartnersTable {
  id: Generated<string>;
  name: string;
  created_by_id: string | null;
  /** https:// origins allowed to frame this partner's talk pages (migration 009). */
  embed_origins: Json<string[]>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Failed password attempts per email, known or not (migration 009). */
export interface LoginFailuresTable {
  email_hash: string;
  failures: number;
  blocked_until: NullableTimestamp;
  last_failure_at: Timestamp;
}

export type MemberRole = 'owner' | 'admin' | 'member';

export interface MembershipsTable {
  partner_id: string;
  user_id: string;
  role: MemberRole;
  created_at: Timestamp;
}

export interface ApiTokensTable {
  id: Generated<string>;
  partner_id: string;
  name: string;
  prefix: string;
  token_hash: string;
  created_by_id: string | null;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface ThemeColors {
  [key: string]: string;
}

export interface ThemesTable {
  id: Generated<string>;
  partner_id: string;
  name: string;
  colors: Json<ThemeColors>;
  logo_url: string | null;
  background_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type RoomType = 'default' | 'questions' | 'hosted_events';
export type Access = 'anyone' | 'invite_only';
export type MicBehavior = 'start_on' | 'start_off';
export type TalkStatus = 'scheduled' | 'live' | 'ended';

export interface TalksTable {
  id: Generated<string>;
  partner_id: string;
  created_by_id: string | null;
  name: string;
  description: string | null;
  room_type: Generated<RoomType>;
  access: Generated<Access>;
  mic_behavior: Generated<MicBehavior>;
  theme_id: string | null;
  start_time: NullableTimestamp;
  end_time: NullableTimestamp;
  subscriptions_allowed: Generated<boolean>;
  recording: Generated<boolean>;
  price: string | null;
  currency: string | null;
  thumbnail_url: string | null;
  schedule: string | null;
  schedule_talk_id: string | null;
  short_code: string;
  /** The key in the talk's audience stream URL (`hls_url`). */
  stream_key: Generated<string>;
  /** Listeners on WebRTC before the next get the audience stream; null: AUDIENCE_WEBRTC_LISTENERS. */
  webrtc_listener_limit: number | null;
  /** The row's updates so far, counted by the database (migration 017's trigger): of two rows of a talk, the later has the higher. */
  version: Generated<number>;
  status: Generated<TalkStatus>;
  started_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupsTable {
  id: Generated<string>;
  partner_id: string;
  name: string;
  description: string | null;
  rank: number;
  visible: Generated<boolean>;
  price: string | null;
  currency: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface GroupTalksTable {
  group_id: string;
  talk_id: string;
  partner_id: string;
  created_at: Timestamp;
}

export type RecordingStatus = 'recording' | 'processing' | 'ready' | 'failed';

export interface RecordingTrack {
  participant_id: string;
  user_id: string | null;
  uid: string | null;
  name: string;
  username: string | null;
  storage_key: string;
  file_name: string;
  /** Seconds from the start of the recording at which this track starts. */
  offset: number;
  /**
   * Seconds from the start of the recording at which its capture stopped (its tap's last packet).
   * The tap's stream is continuous and paced by the clock, so the file's length ends there: at
   * finalize the offset is set to `end` minus the file's duration, which holds however late the
   * capture's ffmpeg started reading on a loaded machine.
   */
  end?: number;
}

export interface RecordingsTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  status: Generated<RecordingStatus>;
  file_name: string;
  storage_key: string;
  size: number | null;
  duration: number | null;
  start_time: Timestamp;
  end_time: NullableTimestamp;
  share_permission: Generated<'private' | 'public'>;
  created_by_id: string | null;
  user_id: string | null;
  tracks: Json<RecordingTrack[]>;
  transcription: Json<unknown> | null;
  /** The node recording it while live; it refreshes heartbeat_at, and recovery skips fresh leases. */
  owner_node: string | null;
  heartbeat_at: NullableTimestamp;
  /** Why the recording failed (status `failed`), for the partner. */
  failure_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface IdempotencyKeysTable {
  partner_id: string;
  key: string;
  request_hash: string;
  status_code: number | null;
  response: string | null;
  created_at: Timestamp;
}

export interface PasswordResetsTable {
  /** SHA-256 of the secret in the reset link. */
  id: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface InvitesTable {
  id: Generated<string>;
  partner_id: string;
  role: MemberRole;
  /** SHA-256 of the secret in the invite link. */
  token_hash: string;
  created_by_id: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_by_id: string | null;
}

export type ParticipantRole = 'host' | 'speaker' | 'listener';

export interface TalkJoinTokensTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  token_hash: string;
  uid: string | null;
  name: string | null;
  username: string | null;
  photo_url: string | null;
  role: ParticipantRole;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
}

export interface TalkInvitesTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  token_hash: string;
  max_uses: number | null;
  uses: Generated<number>;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface TalkParticipantsTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  user_id: string | null;
  uid: string | null;
  name: string;
  username: string | null;
  photo_url: string | null;
  role: ParticipantRole;
  joined_at: Timestamp;
  left_at: NullableTimestamp;
  /** sha256 of the participant's resume secret (rooms/admission.ts). */
  resume_hash: string | null;
  /** sha256 of the join link they came in with, if any (a ban of them bans it too, also after a restart). */
  token_hash: string | null;
  /** When they last came back as themselves to a room that had lost them (a restart, a takeover). */
  rejoined_at: NullableTimestamp;
}

/** A talk's reminder emails of one kind, queued once (src/reminders). */
export interface ReminderBatchesTable {
  partner_id: string;
  talk_id: string;
  kind: 'starting' | 'replay';
  recipients: number;
  created_at: Generated<Timestamp>;
}

/** One reminder email sent (its address lower-cased), so a retried job does not send it again. */
export interface ReminderSendsTable {
  partner_id: string;
  talk_id: string;
  kind: 'starting' | 'replay';
  email: string;
  sent_at: Generated<Timestamp>;
}

/** People a host removed from a talk, until a host lifts it (src/rooms/moderation.ts). */
export interface TalkQuestionsTable {
  id: string;
  partner_id: string;
  talk_id: string;
  participant_id: string | null;
  name: string;
  text: string;
  status: 'open' | 'on_stage' | 'answered' | 'removed';
  created_at: Timestamp;
  answered_at: NullableTimestamp;
}

export interface TalkBansTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  participant_id: string | null;
  name: string;
  user_id: string | null;
  uid: string | null;
  token_hash: string | null;
  device_id: string | null;
  address: string | null;
  created_at: Timestamp;
  lifted_at: NullableTimestamp;
}

/** Scaled mode: the node hosting each open live room (src/rooms/placement.ts). */
export interface RoomNodesTable {
  talk_id: string;
  node_id: string;
  node_url: string;
  claimed_at: Timestamp;
  heartbeat_at: Timestamp;
}

export interface TalkSubscriptionsTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  email: string;
  name: string | null;
  created_at: Timestamp;
}

export interface WebhookSecret {
  secret: string;
  created_at: string;
  /** Set when a newer secret replaced this one: still signs until then. */
  expires_at: string | null;
}

export interface WebhookEndpointsTable {
  id: Generated<string>;
  partner_id: string;
  url: string;
  events: string[];
  enabled: Generated<boolean>;
  description: string | null;
  secrets: Json<WebhookSecret[]>;
  disabled_reason: string | null;
  disabled_at: NullableTimestamp;
  failing_since: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookEventsTable {
  id: string;
  partner_id: string;
  event_name: string;
  /** The exact JSON body sent (same bytes on every attempt). */
  payload: string;
  created_at: Timestamp;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  partner_id: string;
  endpoint_id: string;
  event_id: string;
  event_name: string;
  status: Generated<WebhookDeliveryStatus>;
  /** Bumped whenever a new job is queued for the delivery: older jobs are stale. */
  generation: Generated<number>;
  /** Attempts in the current retry cycle (reset by retry/replay). */
  cycle_attempts: Generated<number>;
  attempt_count: Generated<number>;
  next_attempt_at: NullableTimestamp;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  attempted_at: Timestamp;
  status_code: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
}

/** One live caption: a phrase one speaker said, numbered per talk. */
export interface TalkCaptionsTable {
  id: Generated<string>;
  partner_id: string;
  talk_id: string;
  seq: number;
  participant_id: string;
  user_id: string | null;
  uid: string | null;
  name: string;
  username: string | null;
  avatar_url: string | null;
  text: string;
  spoken_at: Timestamp;
  created_at: Generated<Date>;
}

export interface WebhookTalkSequencesTable {
  talk_id: string;
  seq: number;
}

/** Every table; feature migrations add theirs here. */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  partners: PartnersTable;
  memberships: MembershipsTable;
  login_failures: LoginFailuresTable;
  api_tokens: ApiTokensTable;
  themes: ThemesTable;
  talks: TalksTable;
  groups: GroupsTable;
  group_talks: GroupTalksTable;
  recordings: RecordingsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  webhook_talk_sequences: WebhookTalkSequencesTable;
  talk_captions: TalkCaptionsTable;
  talk_join_tokens: TalkJoinTokensTable;
  talk_invites: TalkInvitesTable;
  talk_participants: TalkParticipantsTable;
  talk_subscriptions: TalkSubscriptionsTable;
  room_nodes: RoomNodesTable;
  talk_bans: TalkBansTable;
  talk_questions: TalkQuestionsTable;
  reminder_batches: ReminderBatchesTable;
  reminder_sends: ReminderSendsTable;
  password_resets: PasswordResetsTable;
  invites: InvitesTable;
}

export type Talk = Selectable<TalksTable>;
export type NewTalk = Insertable<TalksTable>;
export type TalkUpdate = Updateable<TalksTable>;
export type Group = Selectable<GroupsTable>;
export type Theme = Selectable<ThemesTable>;
export type Recording = Selectable<RecordingsTable>;
export type User = Selectable<UsersTable>;
export type Partner = Selectable<PartnersTable>;
export type ApiToken = Selectable<ApiTokensTable>;
