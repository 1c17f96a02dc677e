import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { RecordingTrack } from '../platform/db/schema.js';
import type { TalksService } from '../talks/service.js';
import { toWav16k } from '../transcription/audio.js';
import { splitLong } from '../transcription/phrases.js';
import type { TranscriptionJson } from '../transcription/schema.js';
import type { TranscriptionEngine } from '../transcription/types.js';
import { talkVocabulary } from '../transcription/vocabulary.js';
import type { EventSink } from '../webhooks/events.js';
import type { RecordingsService } from './service.js';

/** What the transcription job reads and writes. */
export interface TranscriberDeps {
  db: DatabaseHandle;
  recordings: RecordingsService;
  talks: Pick<TalksService, 'find'>;
  events: EventSink;
}

function speakerOf(track: RecordingTrack) {
  return { user_id: track.user_id, uid: track.uid, username: track.username, name: track.name };
}

/**
 * The `recording.transcribe` job: transcribes each speaker's own track (so every segment is
 * attributed exactly) with the talk's own words given to the engine, cuts it into phrases,
 * shifts it by the track's offset, merges all by time (speakers who take turns interleave),
 * stores the transcript and emits transcription_ready in the same transaction.
 */
export class Transcriber {
  constructor(
    private readonly services: TranscriberDeps,
    readonly engine: TranscriptionEngine,
  ) {}

  async transcribeRecording(partnerId: string, recordingId: string): Promise<TranscriptionJson | null> {
    const { recordings, db } = this.services;
    const rec = await recordings.repo.get(partnerId, recordingId);
    if (rec?.status !== 'ready' || rec.transcription) return null; // deleted, or a retried job already did it
    await this.engine.load();
    const talk = await this.services.talks.find(partnerId, rec.talk_id);
    const vocabulary = talkVocabulary([talk?.name, talk?.description, ...rec.tracks.map((t) => t.name)]);
    const work = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-stt-'));
    try {
      const perTrack = await Promise.all(
        rec.tracks.map(async (track, i) => {
          const wav = path.join(work, `${i}.wav`);
          await toWav16k(await recordings.storage.fetch(track.storage_key), wav);
          const result = await this.engine.transcribe(wav, { vocabulary });
          return {
            language: result.language,
            segments: result.utterances.flatMap((whole) =>
              splitLong(whole).map((u) => ({
                start: round(u.start + track.offset),
                end: round(u.end + track.offset),
                text: u.text,
                speaker: speakerOf(track),
                ...(u.words ? { words: u.words.map((w) => ({ word: w.word, start: round(w.start + track.offset), end: round(w.end + track.offset) })) } : {}),
              })),
            ),
          };
        }),
      );
      const segments = perTrack.flatMap((t) => t.segments).sort((a, b) => a.start - b.start || a.end - b.end);
      const transcription: TranscriptionJson = {
        text: segments.map((s) => s.text).join(' '),
        language: perTrack[0]?.language ?? 'en',
        engine: this.engine.name,
        segments,
      };
      return await db.db.transaction().execute(async (tx) => {
        const saved = await tx
          .updateTable('recordings')
          .set({ transcription: JSON.stringify(transcription), updated_at: new Date() })
          .where('partner_id', '=', partnerId)
          .where('id', '=', recordingId)
          .where('transcription', 'is', null)
          .returning(['id', 'talk_id'])
          .executeTakeFirst();
        if (!saved) return null;
        await this.services.events.emit(tx, partnerId, 'transcription_ready', { recording_id: saved.id, talk_id: saved.talk_id, transcription });
        return transcription;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
      for (const track of rec.tracks) await recordings.storage.release(track.storage_key).catch(() => undefined);
    }
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
