import type { Migration } from 'kysely';
import * as m001 from './001_foundation.js';
import * as m002 from './002_password_resets_invites.js';
import * as m003 from './003_live_rooms.js';
import * as m004 from './004_webhooks.js';
import * as m005 from './005_captions_recording_lease.js';
import * as m006 from './006_millisecond_created_at.js';
import * as m007 from './007_webhook_retention_indexes.js';
import * as m008 from './008_room_nodes.js';
import * as m009 from './009_login_backoff_embed_origins.js';
import * as m010 from './010_talk_bans.js';
import * as m011 from './011_recording_failure_reason.js';
import * as m012 from './012_talk_questions.js';
import * as m013 from './013_reminders.js';
import * as m014 from './014_participant_resume.js';
import * as m015 from './015_talk_stream_key.js';
import * as m016 from './016_talk_webrtc_listener_limit.js';
import * as m017 from './017_talk_version.js';
import * as m018 from './018_ban_address_keys.js';
import * as m019 from './019_participant_token_hash.js';

/** Numbered migrations, applied in order at start-up and by `smalltalk migrate`. Append only. */
export const migrations: Record<string, Migration> = {
  '001_foundation': m001,
  '002_password_resets_invites': m002,
  '003_live_rooms': m003,
  '004_webhooks': m004,
  '005_captions_recording_lease': m005,
  '006_millisecond_created_at': m006,
  '007_webhook_retention_indexes': m007,
  '008_room_nodes': m008,
  '009_login_backoff_embed_origins': m009,
  '010_talk_bans': m010,
  '011_recording_failure_reason': m011,
  '012_talk_questions': m012,
  '013_reminders': m013,
  '014_participant_resume': m014,
  '015_talk_stream_key': m015,
  '016_talk_webrtc_listener_limit': m016,
  '017_talk_version': m017,
  '018_ban_address_keys': m018,
  '019_participant_token_hash': m019,
};
