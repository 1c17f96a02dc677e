import { execFileSync, spawn } from 'node:child_process';
import type { MediaChild } from '../../src/platform/spawner.js';
import { decodeAudio } from '../../src/bot/participant.js';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Talk } from '../../src/platform/db/schema.js';
import { exited, run, spawnTied } from '../../src/platform/media.js';
import type { LiveTalkObserver, LiveTalks, RtpTarget, SpeakerInfo } from '../../src/rooms/live.js';
import type { TestApp } from '../support/app.js';

const cacheDir = path.join(os.tmpdir(), 'smalltalk-speech-cache');

const synthesizing = new Map<string, Promise<string>>();

/**
 * Festival's slt HTS voice saying `text` (cached per text): a real 16 kHz WAV of speech. The same
 * text asked for twice at once is made once, and the file appears whole (written aside, then renamed).
 */
export function speech(text: string): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const name = createHash('sha1').update(text).digest('hex').slice(0, 16);
  const wav = path.join(cacheDir, `${name}.wav`);
  if (existsSync(wav)) return Promise.resolve(wav);
  const pending = synthesizing.get(wav);
  if (pending) return pending;
  const made = (async () => {
    const scratch = path.join(cacheDir, `${name}.${process.pid}.${randomUUID()}`);
    writeFileSync(`${scratch}.txt`, `${text}\n`);
    try {
      await run('text2wave', ['-eval', '(voice_cmu_us_slt_arctic_hts)', `${scratch}.txt`, '-o', `${scratch}.raw.wav`]);
      await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', `${scratch}.raw.wav`, '-ar', '16000', '-ac', '1', `${scratch}.wav`]);
      renameSync(`${scratch}.wav`, wav);
    } finally {
      for (const f of [`${scratch}.txt`, `${scratch}.raw.wav`, `${scratch}.wav`]) rmSync(f, { force: true });
      synthesizing.delete(wav);
    }
    return wav;
  })();
  synthesizing.set(wav, made);
  return made;
}

/**
 * Speech files and seconds of digital silence (numbers) in a row, as one 16 kHz mono file; `output`
 * is ffmpeg's output options (the default: a WAV, as its extension says).
 */
export async function concatAudio(pieces: (string | number)[], out: string, output: string[] = ['-ar', '16000', '-ac', '1']): Promise<string> {
  const inputs = pieces.flatMap((p) => (typeof p === 'number' ? ['-f', 'lavfi', '-t', String(p), '-i', 'anullsrc=r=16000:cl=mono'] : ['-i', p]));
  const chain = pieces.map((_, i) => `[${i}:a]aresample=16000,aformat=channel_layouts=mono[a${i}]`).join(';');
  const concat = `${pieces.map((_, i) => `[a${i}]`).join('')}concat=n=${pieces.length}:v=0:a=1[o]`;
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', `${chain};${concat}`, '-map', '[o]', ...output, out]);
  return out;
}

/** Festival speech of `lines` with `gap` seconds between them, as the 48 kHz mono samples a bot plays (it loops them). */
export async function botVoice(lines: string[], gap: number, name: string): Promise<Int16Array> {
  const spoken = await withPauses(await Promise.all(lines.map(speech)), gap, path.join(os.tmpdir(), `st-${name}-${process.pid}.wav`));
  const out = path.join(os.tmpdir(), `st-${name}-${process.pid}-48k.wav`);
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', spoken, '-ar', '48000', '-ac', '1', out]);
  return decodeAudio(out);
}

/** Concatenates WAVs with `gap` seconds of silence between them. */
export function withPauses(files: string[], gap: number, out: string): Promise<string> {
  return concatAudio(
    files.flatMap((f, i) => (i < files.length - 1 ? [f, gap] : [f])),
    out,
  );
}

/** The lower-case words of a text, punctuation dropped (what WER and recall compare). */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/** Word error rate: word-level edit distance over the reference length. */
export function wer(reference: string, hypothesis: string): number {
  const r = words(reference);
  const h = words(hypothesis);
  const d = Array.from({ length: r.length + 1 }, (_, i) => Array.from({ length: h.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= r.length; i++)
    for (let j = 1; j <= h.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
  return r.length ? d[r.length][h.length] / r.length : 0;
}

/** Share of the reference's words (as a multiset, order ignored) that the hypothesis contains. */
export function recall(reference: string, hypothesis: string): number {
  const have = new Map<string, number>();
  for (const w of words(hypothesis)) have.set(w, (have.get(w) ?? 0) + 1);
  const ref = words(reference);
  let hits = 0;
  for (const w of ref) {
    const n = have.get(w) ?? 0;
    if (n > 0) {
      hits++;
      have.set(w, n - 1);
    }
  }
  return ref.length ? hits / ref.length : 1;
}

/** Plays `wav` in real time as Opus RTP to `target` (what a speaker's tap sends). */
export function sendOpusRtp(wav: string, target: RtpTarget) {
  return spawnTied(
    'ffmpeg',
    [
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-i',
      wav,
      '-c:a',
      'libopus',
      '-b:a',
      '48k',
      '-payload_type',
      String(target.payloadType),
      '-f',
      'rtp',
      `rtp://${target.host}:${target.port}`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
}

/**
 * Stands in for the live room (src/rooms) where it is not built yet: it calls the observers as
 * the room does and, on `tapSpeaker`, sends that speaker's speech as real Opus RTP (ffmpeg
 * libopus, paced in real time) to the port the recorder asked for.
 */
export class RtpTestRoom implements LiveTalks {
  readonly observers: LiveTalkObserver[] = [];
  private readonly voices = new Map<string, string>();
  private readonly senders = new Map<string, MediaChild>();
  readonly captions: { talkId: string; seq: number; participantId: string; text: string }[] = [];

  addObserver(observer: LiveTalkObserver): void {
    this.observers.push(observer);
  }

  /** The WAV `participantId` plays when tapped. */
  voice(participantId: string, wav: string): void {
    this.voices.set(participantId, wav);
  }

  async tapSpeaker(_talkId: string, participantId: string, target: RtpTarget): Promise<() => Promise<void>> {
    const wav = this.voices.get(participantId);
    if (!wav) throw new Error(`no voice for ${participantId}`);
    const child = sendOpusRtp(wav, target);
    const key = `${participantId}:${target.port}`;
    this.senders.set(key, child);
    return async () => {
      child.kill('SIGKILL');
      await exited(child);
    };
  }

  /** Resolves when every RTP sender for `participantId` has played its whole file. */
  async finished(participantId: string): Promise<void> {
    await Promise.all([...this.senders.entries()].filter(([k]) => k.startsWith(`${participantId}:`)).map(([, c]) => exited(c)));
  }

  broadcastCaption(talkId: string, caption: { seq: number; participantId: string; name: string; text: string; timestamp: string }): void {
    this.captions.push({ talkId, seq: caption.seq, participantId: caption.participantId, text: caption.text });
  }

  participants(): [] {
    return [];
  }

  async present(): Promise<[]> {
    return [];
  }

  hostsRoom(): boolean {
    return true;
  }

  async hostedElsewhere(): Promise<null> {
    return null;
  }

  async talkStarted(talk: Talk, at = new Date()) {
    for (const o of this.observers) await o.talkStarted?.(talk, at);
  }
  async speakerStarted(talkId: string, speaker: SpeakerInfo) {
    for (const o of this.observers) await o.speakerStarted?.(talkId, speaker);
  }
  async speakerStopped(talkId: string, participantId: string) {
    for (const o of this.observers) await o.speakerStopped?.(talkId, participantId);
  }
  async talkStopped(talkId: string) {
    for (const o of this.observers) await o.talkStopped?.(talkId, false);
  }
}

export function speaker(participantId: string, name: string, username: string, userId: string | null = null): SpeakerInfo {
  return { participantId, userId, uid: `uid-${participantId}`, name, username, photoUrl: null };
}

/** Partner events as the webhooks outbox stored them (committed rows only). */
export async function eventsOf(t: TestApp, eventName: string): Promise<{ body: Record<string, any> }[]> {
  const rows = await t.services.db.db
    .selectFrom('webhook_events')
    .select(['payload', 'created_at'])
    .where('event_name', '=', eventName)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => JSON.parse(r.payload as unknown as string) as { body: Record<string, any> });
}

/** Mean volume in dB of an audio file (ffmpeg volumedetect). */
export async function meanVolume(file: string): Promise<number> {
  const child = spawn('ffmpeg', ['-nostdin', '-i', file, '-af', 'volumedetect', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  await exited(child);
  const m = /mean_volume: (-?[\d.]+) dB/.exec(err);
  return m ? Number(m[1]) : Number.NEGATIVE_INFINITY;
}

/** The loudest sample (dB) of `file` between `from` and `to` seconds: about -91 dB is digital silence. */
export async function maxVolume(file: string, from: number, to: number): Promise<number> {
  const child = spawn('ffmpeg', ['-nostdin', '-ss', from.toFixed(3), '-t', (to - from).toFixed(3), '-i', file, '-af', 'volumedetect', '-f', 'null', '-'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  await exited(child);
  const m = /max_volume: (-?[\d.]+) dB/.exec(err);
  return m ? Number(m[1]) : Number.NEGATIVE_INFINITY;
}

/** What one named speaker said in a stored transcription: their segments' text, in order. */
export function spokenBy(transcription: { segments: { text: string; speaker: { name: string } }[] }, name: string): string {
  return transcription.segments
    .filter((s) => s.speaker.name === name)
    .map((s) => s.text)
    .join(' ');
}

/** A 330 Hz tone of `seconds` as AAC in an mp4 with its index at the front, as the mixer finalizes a recording. */
export function toneMp4(file: string, seconds: number, options: { bitrate?: string; beeps?: boolean } = {}): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const source = `sine=frequency=330${options.beeps ? ':beep_factor=4' : ''}:duration=${seconds}`;
  execFileSync('ffmpeg', [
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    source,
    '-c:a',
    'aac',
    '-b:a',
    options.bitrate ?? '48k',
    '-movflags',
    '+faststart',
    '-y',
    file,
  ]);
}
