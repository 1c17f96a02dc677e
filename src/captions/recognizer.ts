import type { MediaChild } from '../platform/spawner.js';
import { exited, orderlySignal, readJsonLines, rtpInputArgs, spawnTied } from '../platform/media.js';
import { spokenWord } from '../transcription/pocketsphinx.js';
import type { Word } from '../transcription/types.js';
import type { VocabularyWord } from '../transcription/vocabulary.js';
import { PARTIAL_MS, decoderFrame, killDecoder } from './decoder.js';

const SAMPLE_RATE = 16_000;
const BYTES_PER_SECOND = SAMPLE_RATE * 2;
/** Near-silence is fed in steps of this length once no audio came for PAD_AFTER_MS. */
const GAP_MS = 100;
/**
 * Not sooner: on a loaded machine ffmpeg's output stalls for a few hundred ms mid-phrase, and silence
 * fed into a stall cut words apart (the first phrase of a stream, when everything is starting, suffered most).
 */
const PAD_AFTER_MS = 400;
/**
 * Audio before the first sound is not decoded: the detector took that near-silence for a phrase,
 * whose cepstral mean then garbled the real first phrase. Decoding starts this long before it.
 */
const PREROLL_BYTES = BYTES_PER_SECOND / 4;
/** A chunk whose RMS is above this (of 32768, about -45 dBFS) holds the first sound. */
const SOUND_RMS = 180;
/**
 * Captions later than this mean the caption decoder has fallen behind (the CPU is short and it
 * decodes slower than people speak): a caption 30 s late is worse than none. It is replaced by a
 * fresh decoder that starts from the audio arriving now; the audio it skips is in the recording,
 * and the post-talk transcript has it.
 */
export const MAX_CAPTION_LAG_MS = 8000;
/** Audio queued in this process for the caption decoder beyond the OS pipes' own buffers: behind too. */
const MAX_QUEUED_BYTES = BYTES_PER_SECOND * 5;

/** Near-silence (±2 of 32768): exact zeros upset pocketsphinx's energy-based detector (log of 0). */
function quietNoise(samples: number): Buffer {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round((Math.random() - 0.5) * 4);
  return Buffer.from(pcm.buffer);
}

/** The chunk with its exact zeros (digital silence, as a muted or silent tap sends) made ±1. */
function dithered(pcm: Buffer): Buffer {
  const out = Buffer.from(pcm);
  for (let i = 0; i + 1 < out.length; i += 2) if (out.readInt16LE(i) === 0) out.writeInt16LE(Math.random() < 0.5 ? -1 : 1, i);
  return out;
}

function rms(pcm: Buffer): number {
  let sum = 0;
  const n = Math.floor(pcm.length / 2);
  for (let i = 0; i < n; i++) sum += pcm.readInt16LE(i * 2) ** 2;
  return n ? Math.sqrt(sum / n) : 0;
}

/** A phrase one speaker said, with wall-clock times of when its audio reached us. */
export interface Phrase {
  text: string;
  /** Its words, times in seconds of the speaker's decoded stream. */
  words: Word[];
  /** When the phrase's first word arrived. */
  startedAt: Date;
  /** When the audio of its last word arrived (the latency benchmark's "phrase end"). */
  endedAt: number;
}

export interface RecognizerEvents {
  /** A started decoder (DecoderPool.take). */
  decoder: () => MediaChild;
  /** The text so far of the phrase being spoken (at most every PARTIAL_MS). */
  onPartial?: (text: string) => void;
  onPhrase: (p: Phrase) => void;
  onError: (err: Error) => void;
  /** Something recoverable happened (the audio input stopped and is restarted). */
  onNotice?: (msg: string) => void;
}

/** What the decoder (stream-decoder.py) writes, one JSON object a line. */
type DecoderLine = { end: true } | { partial: string } | { phrase: [string, number, number][] };

/**
 * One speaker's live recognizer: ffmpeg decodes the tapped Opus RTP (described by `sdpFile`) to
 * 16 kHz mono PCM, which streams into one pocketsphinx decoder (decoder.ts, stream-decoder.py):
 * while a phrase is spoken it reports the best path so far (the interim text, shown until the
 * caption), and its voice-activity detector ends the phrase at a pause, after which the flat search
 * and best path give the caption, about half a second later.
 *
 * The audio input recovers by itself: ffmpeg's RTP reader exits after ~10 s without packets (a
 * long mute, a dropped connection), and is then started again on the same port while the
 * decoder keeps running; the gap is fed as near-silence so the phrase in progress still ends.
 */
export class SpeakerRecognizer {
  private input: MediaChild | null = null;
  private decoder: MediaChild;
  /** Where (byte offset in the stream) the current decoder's input began. */
  private decoderBase = 0;
  /** Times the decoder fell behind and was replaced (tests and logs read it). */
  catchUps = 0;
  /** (byte offset in the decoded PCM stream, wall-clock ms when that chunk arrived), for mapping times back. */
  private readonly arrivals: [number, number][] = [];
  private bytes = 0;
  private stopped = false;
  private lastAudioAt = 0;
  private paddedMs = 0;
  private readonly gapTimer: NodeJS.Timeout;
  /** Audio before the first sound (the last PREROLL_BYTES of it); null once decoding started. */
  private preroll: Buffer[] | null = [];
  /** The decoder's latest interim text of the phrase being spoken. */
  private partial = '';
  private partialShownAt = 0;
  private partialTimer: NodeJS.Timeout | null = null;
  /** Restarts of the audio input in a row that got no audio (backs off). */
  private quickExits = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private decoderErr = '';
  /** Words the decoder was given to recognize (the talk's own), given again to a decoder that replaces it. */
  private readonly added = new Map<string, string>();

  constructor(
    private readonly sdpFile: string,
    private readonly events: RecognizerEvents,
  ) {
    this.decoder = events.decoder();
    this.attach(this.decoder);
    this.startInput();
    // No RTP while a speaker is silent (DTX, muted, or their audio ended) means no PCM, and the
    // detector never sees the pause that ends a phrase: feed up to two seconds of near-silence in its place
    // (a tap that sends silence while a speaker sends nothing makes this rare).
    this.gapTimer = setInterval(() => {
      if (!this.lastAudioAt || Date.now() - this.lastAudioAt < PAD_AFTER_MS || this.paddedMs >= 2000) return;
      this.feed(quietNoise((SAMPLE_RATE * GAP_MS) / 1000));
      this.paddedMs += GAP_MS;
    }, GAP_MS);
    this.gapTimer.unref();
  }

  /** Reads a decoder's interim text and phrases; output of one that was replaced is ignored. */
  private attach(decoder: MediaChild): void {
    const base = this.decoderBase / BYTES_PER_SECOND;
    decoder.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.decoderErr = (this.decoderErr + d).slice(-500);
    });
    readJsonLines(decoder, (line: DecoderLine) => {
      if (decoder !== this.decoder) return;
      if ('partial' in line) {
        this.partial = line.partial;
        return this.showPartial();
      }
      if (!('phrase' in line)) return;
      this.clearPartial();
      const words = line.phrase.flatMap(([raw, start, end]) => {
        const word = spokenWord(raw);
        return word ? [{ word, start: base + start, end: base + end }] : [];
      });
      if (!words.length) return;
      const endedAt = this.arrivalOf(words[words.length - 1].end);
      this.events.onPhrase({ text: words.map((w) => w.word).join(' '), words, startedAt: new Date(this.arrivalOf(words[0].start)), endedAt });
      const lagMs = Date.now() - endedAt;
      if (lagMs > MAX_CAPTION_LAG_MS && !this.stopped) this.catchUp(`its last caption came ${(lagMs / 1000).toFixed(1)} s after the words`);
    });
    decoder.once('error', (err) => this.events.onError(err));
    decoder.once('close', (code, signal) => {
      if (code === 0 || this.stopped || decoder !== this.decoder) return;
      // SIGTERM/SIGINT reach the decoder too when the service stops (systemd signals the whole
      // group), often before our own stop() runs: an orderly stop, not a failure.
      if (orderlySignal(signal)) return this.events.onNotice?.(`live caption decoder stopped by ${signal}`);
      this.events.onError(new Error(`live caption decoder exited with ${code ?? signal}: ${this.decoderErr.trim()}`));
    });
  }

  /** The decoder is behind: a fresh one takes over from the audio arriving now, the old one is killed. */
  private catchUp(why: string): void {
    const old = this.decoder;
    this.decoderBase = this.bytes;
    this.decoder = this.events.decoder();
    this.clearPartial();
    this.attach(this.decoder);
    this.sendWords([...this.added]);
    this.catchUps++;
    this.events.onNotice?.(
      `live captions fell behind (${why}; the machine is short of CPU): captions go on from now, the audio in between is in the recording and its transcript`,
    );
    killDecoder(old);
  }

  /** ffmpeg: RTP in, PCM out; started again whenever it exits before stop(). */
  private startInput(): void {
    const input = spawnTied('ffmpeg', [...rtpInputArgs(this.sdpFile), '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-flush_packets', '1', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.input = input;
    let got = false;
    // A read may end mid-sample: the odd byte waits for the next read, so samples stay aligned.
    let odd: Buffer | null = null;
    input.stderr?.resume();
    input.stdout?.on('data', (data: Buffer) => {
      got = true;
      this.lastAudioAt = Date.now();
      this.paddedMs = 0;
      let chunk = odd ? Buffer.concat([odd, data]) : data;
      odd = chunk.length % 2 ? chunk.subarray(chunk.length - 1) : null;
      if (odd) chunk = chunk.subarray(0, chunk.length - 1);
      if (chunk.length > 0) this.feed(chunk);
    });
    input.once('error', (err) => this.events.onError(err));
    input.once('close', (code, signal) => {
      if (this.stopped) return;
      if (orderlySignal(signal)) return this.events.onNotice?.(`audio input stopped by ${signal}`);
      this.quickExits = got ? 0 : this.quickExits + 1;
      const delay = Math.min(2000, 50 * 2 ** Math.min(this.quickExits, 6));
      this.events.onNotice?.(`audio input ended (ffmpeg exited with ${code}); listening again in ${delay} ms`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopped) this.startInput();
      }, delay);
    });
  }

  private feed(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.preroll) {
      this.preroll.push(chunk);
      let kept = this.preroll.reduce((n, b) => n + b.length, 0);
      while (this.preroll.length > 1 && kept - this.preroll[0].length >= PREROLL_BYTES) kept -= this.preroll.shift()?.length ?? 0;
      if (rms(chunk) < SOUND_RMS) return;
      const start = this.preroll;
      this.preroll = null;
      for (const b of start) this.feed(b);
      return;
    }
    const pcm = dithered(chunk);
    const queued = this.decoder.stdin?.writableLength ?? 0;
    if (queued > MAX_QUEUED_BYTES) this.catchUp(`${(queued / BYTES_PER_SECOND).toFixed(0)} s of audio waited for it`);
    this.arrivals.push([this.bytes, Date.now()]);
    if (this.arrivals.length > 4000) this.arrivals.splice(0, 2000);
    this.bytes += pcm.length;
    this.decoder.stdin?.write(decoderFrame('a', pcm));
  }

  /**
   * Words the decoder should recognize from now on (the talk's own: a guest's name the dictionary
   * lacks), each with its phones; it adds them between phrases.
   */
  addWords(words: VocabularyWord[]): void {
    const fresh = words.filter((w) => w.phones.length && !this.added.has(w.word)).map((w): [string, string] => [w.word, w.phones.join(' ')]);
    for (const [word, phones] of fresh) this.added.set(word, phones);
    this.sendWords(fresh);
  }

  private sendWords(words: [string, string][]): void {
    if (words.length && !this.stopped) this.decoder.stdin?.write(decoderFrame('w', Buffer.from(JSON.stringify(words))));
  }

  /** Shows the words so far, at most every PARTIAL_MS (a later call within that time is deferred). */
  private showPartial(): void {
    if (this.partialTimer) return;
    const wait = this.partialShownAt + PARTIAL_MS - Date.now();
    const show = () => {
      this.partialTimer = null;
      if (!this.partial || this.stopped) return;
      this.partialShownAt = Date.now();
      this.events.onPartial?.(this.partial);
    };
    if (wait <= 0) show();
    else this.partialTimer = setTimeout(show, wait);
  }

  private clearPartial(): void {
    this.partial = '';
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = null;
  }

  /** Wall-clock ms when the PCM at `seconds` into the stream arrived. */
  private arrivalOf(seconds: number): number {
    const offset = Math.round(seconds * BYTES_PER_SECOND);
    let found = this.arrivals[0]?.[1] ?? Date.now();
    for (const [at, wall] of this.arrivals) {
      if (at > offset) break;
      found = wall;
    }
    return found;
  }

  /**
   * Stops decoding; the decoder then finishes (and reports) the phrase in progress. Killed
   * if it takes longer than `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.gapTimer);
    this.clearPartial();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.input) {
      this.input.kill('SIGKILL');
      await exited(this.input);
    }
    // The end of its input ends the decoder, which first reports the phrase in progress.
    this.decoder.stdin?.end();
    const decoder = this.decoder;
    const killer = setTimeout(() => decoder.kill('SIGKILL'), graceMs);
    try {
      await exited(decoder);
    } finally {
      clearTimeout(killer);
    }
  }
}
