/**
 * What we send beyond the API document's samples, deliberately, each with its reason. The contract
 * tests allow these keys and no others; each must also be declared in /openapi.json (API) or named
 * in docs/webhooks.md (webhooks), so an extension is never undocumented.
 */
import type { Extensions } from './contract-doc.js';

/** A talk, on every endpoint that shows one (the document's samples show it with different keys). */
export const talkExtensions: Extensions = {
  room_type: 'the room type the create request sets (the document\'s curl sends "room_type"), answered back',
  recording: 'whether the talk is recorded (default true); partners turn recording off per talk',
  status: 'scheduled, live or ended: what the talk page and the end endpoint act on',
  webrtc_listener_limit: "the talk's own WebRTC listener limit for hosted_events (issue 18)",
  hls_url: "the live talk's LL-HLS audience stream for partners' own players (docs/operations.md)",
};

export const groupExtensions: Extensions = {
  created_at: 'when the group was made, as every other resource carries',
  updated_at: 'when the group last changed, as every other resource carries',
};

/** A row of `talk_groups` (PUT/DELETE group_talks). */
export const talkGroupExtensions: Extensions = {
  group_id: 'the group the row belongs to (the document shows only talk_id and partner_id)',
};

export const recordingExtensions: Extensions = {
  talk_id: 'the talk recorded (docs/webhooks.md: recording_saved is the recording "plus talk_id")',
  end_time: 'when the recording ended (null while it records)',
  duration: 'seconds',
  size: 'bytes',
  status: 'recording, processing, ready or failed',
  failure_reason: 'why a failed recording failed (null otherwise)',
  url: "the download URL (signed and expiring while it is private): the document's file_name is not a URL",
  tracks: "each speaker's own audio, for the per-speaker transcript",
};

/** The envelope of a list that the document shows whole. */
export const listExtensions: Extensions = {
  next_cursor: 'pagination (limit, cursor): null when the whole list is answered, as to a client written to the document',
};

/** transcription_ready: the document's sample body is empty (`"body": {`); docs/webhooks.md names its keys. */
export const transcriptionReadyKeys: Extensions = {
  recording_id: "the recording transcribed (docs/webhooks.md; the document's sample body is empty)",
  talk_id: "the talk it recorded (docs/webhooks.md; the document's sample body is empty)",
  transcription: "the transcript, as the recordings endpoint shows it (docs/webhooks.md; the document's sample body is empty)",
};

/** Webhook bodies beyond the document's samples, by event (each is named in docs/webhooks.md's row for it). */
export const webhookBodyExtensions: Record<string, Extensions> = {
  talk_join: { talk_id: 'which talk was joined: one endpoint receives every talk of the organization' },
  next_caption: { seq: "the caption's number within its talk, to order and deduplicate at-least-once deliveries" },
};
