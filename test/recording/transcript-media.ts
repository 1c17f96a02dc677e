import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RecordingTrack } from '../../src/platform/db/schema.js';
import { probeDuration, run } from '../../src/platform/media.js';
import type { TranscriptionJson } from '../../src/transcription/schema.js';
import { PocketsphinxEngine } from '../../src/transcription/pocketsphinx.js';
import { Transcriber } from '../../src/recordings/transcriber.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { api } from '../support/api.js';
import { concatAudio, speech } from './media.js';

/** Festival saying `text`, with the synthesizer's own leading and trailing silence cut (below -50 dB), so speech starts at 0. */
export async function tightSpeech(text: string): Promise<{ file: string; seconds: number }> {
  const source = await speech(text);
  const file = source.replace(/\.wav$/, '.tight.wav');
  const trim = 'silenceremove=start_periods=1:start_threshold=-50dB';
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', source, '-af', `${trim},areverse,${trim},areverse`, file]);
  return { file, seconds: (await probeDuration(file)) ?? 0 };
}

/** Speech files and seconds of digital silence in a row, encoded as a recorder's track is (AAC in mp4). */
export function composeTrack(pieces: (string | number)[], out: string): Promise<string> {
  return concatAudio(pieces, out, ['-c:a', 'aac', '-b:a', '64k']);
}

export interface TrackSpec {
  name: string;
  file: string;
  offset: number;
}

/**
 * A finished recording of a talk created through the API, with the given speaker tracks in the
 * app's storage, transcribed by the real transcription job code with pocketsphinx.
 */
export async function transcribeTracks(t: TestApp, p: TestPartner, talk: { name: string; description?: string }, tracks: TrackSpec[]) {
  const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: talk });
  const talkId = created.body.talk.id as string;
  const stored: RecordingTrack[] = [];
  for (const [i, tr] of tracks.entries()) {
    const key = `${p.partnerId}/${talkId}/track-${i}.m4a`;
    const file = t.services.recordings.storage.localPath(key);
    await mkdir(path.dirname(file), { recursive: true });
    await copyFile(tr.file, file);
    stored.push({
      participant_id: `p-${i}`,
      user_id: null,
      uid: `uid-${i}`,
      name: tr.name,
      username: null,
      storage_key: key,
      file_name: `track-${i}.m4a`,
      offset: tr.offset,
    });
  }
  const rec = await t.services.recordings.repo.insert(t.services.db.db, p.partnerId, {
    talk_id: talkId,
    status: 'ready',
    file_name: 'talk.mp4',
    storage_key: `${p.partnerId}/${talkId}/talk.mp4`,
    start_time: new Date(),
    tracks: stored,
  });
  await new Transcriber(t.services, new PocketsphinxEngine()).transcribeRecording(p.partnerId, rec.id);
  const json = await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}/transcript.json`, { token: p.token });
  return { recordingId: rec.id, transcript: json.body.transcript as TranscriptionJson };
}

export interface ParsedCue {
  start: number;
  end: number;
  lines: string[];
}

function seconds(h: string, m: string, s: string, ms: string): number {
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;
}

/** Parses WebVTT or SRT strictly (header, numbering, timing lines, no empty payload), throwing on any syntax error. */
export function parseCues(body: string, format: 'vtt' | 'srt'): ParsedCue[] {
  const sep = format === 'vtt' ? '\\.' : ',';
  const timing = new RegExp(`^(\\d\\d):([0-5]\\d):([0-5]\\d)${sep}(\\d{3}) --> (\\d\\d):([0-5]\\d):([0-5]\\d)${sep}(\\d{3})$`);
  const blocks = body.replace(/\n+$/, '').split('\n\n');
  if (format === 'vtt' && blocks.shift() !== 'WEBVTT') throw new Error('no WEBVTT header');
  return blocks.map((block, i) => {
    const lines = block.split('\n');
    if (format === 'srt' && lines.shift() !== String(i + 1)) throw new Error(`cue ${i + 1}: bad number`);
    if (format === 'vtt' && !timing.test(lines[0])) lines.shift(); // an optional cue id
    const m = timing.exec(lines.shift() ?? '');
    if (!m) throw new Error(`cue ${i + 1}: bad timing line in ${JSON.stringify(block)}`);
    if (!lines.length || lines.some((l) => !l.trim() || l.includes('-->'))) throw new Error(`cue ${i + 1}: bad payload ${JSON.stringify(block)}`);
    const cue = { start: seconds(m[1], m[2], m[3], m[4]), end: seconds(m[5], m[6], m[7], m[8]), lines };
    if (!(cue.end > cue.start)) throw new Error(`cue ${i + 1}: ends before it starts`);
    return cue;
  });
}
