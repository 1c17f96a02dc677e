import { statSync } from 'node:fs';
import type { Recording } from '../../src/platform/db/schema.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { toneMp4 } from '../recording/media.js';

/** A transcript of four lines over the first minute, two speakers. */
export const LINES = [
  { start: 0.5, end: 4, text: 'Welcome to the garden hour.', speaker: 'Ada' },
  { start: 30, end: 33.5, text: 'Halfway there, the tomatoes.', speaker: 'Ben' },
  { start: 34, end: 38, text: 'Compost is the secret.', speaker: 'Ada' },
  { start: 50, end: 54, text: 'Nearly done, thank you.', speaker: 'Ben' },
];

/**
 * A finished recording of `talkId` as the mixer leaves it (real AAC in an mp4 with its index first,
 * a minute long, on the app's storage) with LINES as its transcript unless `transcript` is false.
 */
export async function addRecording(
  t: TestApp,
  p: TestPartner,
  talkId: string,
  options: { share?: 'public' | 'private'; status?: 'ready' | 'processing' | 'recording' | 'failed'; transcript?: boolean } = {},
): Promise<Recording> {
  const name = `${Date.now()}-${Math.floor(Math.random() * 1e6)}.mp4`;
  const storageKey = `${p.partnerId}/${talkId}/${name}`;
  const file = t.services.recordings.storage.localPath(storageKey);
  toneMp4(file, 60);
  await t.services.recordings.storage.commit(storageKey);
  const segments = LINES.map((l) => ({ start: l.start, end: l.end, text: l.text, speaker: { user_id: null, username: null, name: l.speaker } }));
  return t.services.recordings.repo.insert(t.services.db.db, p.partnerId, {
    talk_id: talkId,
    status: options.status ?? 'ready',
    share_permission: options.share ?? 'public',
    file_name: name,
    storage_key: storageKey,
    size: statSync(file).size,
    duration: 60,
    start_time: new Date(Date.now() - 120_000),
    end_time: new Date(Date.now() - 60_000),
    created_by_id: null,
    user_id: null,
    transcription: options.transcript === false ? null : JSON.stringify({ text: LINES.map((l) => l.text).join(' '), language: 'en', engine: 'test', segments }),
  });
}
