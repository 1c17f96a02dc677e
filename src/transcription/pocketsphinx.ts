import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../platform/media.js';
import type { EngineResult, TranscribeOptions, TranscriptionEngine, Utterance, Word } from './types.js';
import { EngineError } from './types.js';
import { SAMPLE_RATE, type Span, type VadOptions, speechSpans, wavSamples } from './vad.js';
import { decoderDictionary } from './decoder-dictionary.js';
import { DICTIONARY, applyVocabulary, loadDictionary, prepareVocabulary } from './vocabulary.js';

export const POCKETSPHINX = 'pocketsphinx_continuous';
/** Debian's pocketsphinx-en-us model: the default of pocketsphinx_continuous, named so a missing package fails clearly. */
export const POCKETSPHINX_MODEL = '/usr/share/pocketsphinx/model/en-us';

const LANGUAGE_MODEL = `${POCKETSPHINX_MODEL}/en-us.lm.bin`;

/** The model's files as every decoder loads them (the dictionary trimmed to the language model's words: decoder-dictionary.ts). */
export function modelArgs(): string[] {
  return ['-hmm', `${POCKETSPHINX_MODEL}/en-us`, '-lm', LANGUAGE_MODEL, '-dict', decoderDictionary(LANGUAGE_MODEL, DICTIONARY)];
}

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?[\d.e+-]+)$/;
const NOT_WORDS = new Set(['<s>', '</s>', '<sil>']);

/** A word pocketsphinx found as said (`word(2)`, an alternate pronunciation, is `word`), or null for its markers and fillers (`<s>`, `<sil>`, `[NOISE]`, `++UM++`). */
export function spokenWord(raw: string): string | null {
  if (NOT_WORDS.has(raw) || /^\[.*\]$/.test(raw) || /^\+\+.*\+\+$/.test(raw)) return null;
  return raw.replace(/\(\d+\)$/, '');
}

/**
 * Reads `pocketsphinx_continuous -time yes` output line by line: each utterance is a hypothesis
 * line, then one `word start end confidence` line per word from `<s>` to `</s>`.
 */
export class PocketsphinxParser {
  private words: { word: string; start: number; end: number }[] = [];

  constructor(private readonly onUtterance: (u: Utterance) => void) {}

  line(line: string): void {
    const m = WORD_LINE.exec(line.trim());
    if (!m) return;
    const [, raw, s, e] = m;
    const start = Number(s);
    const end = Number(e);
    if (raw === '<s>') {
      this.words = [];
    } else if (raw === '</s>') {
      const text = this.words.map((w) => w.word).join(' ');
      const first = this.words[0];
      const last = this.words[this.words.length - 1];
      if (first && last && text) this.onUtterance({ start: first.start, end: last.end, text });
      this.words = [];
    } else {
      const word = spokenWord(raw);
      if (word) this.words.push({ word, start, end });
    }
  }
}

export function pocketsphinxArgs(infile: string): string[] {
  return ['-infile', infile, '-time', 'yes', '-logfn', '/dev/null', ...modelArgs()];
}

/** pocketsphinx_batch: the full decoder (tree search, flat search, best path) over a list of phrases in one process. */
export const POCKETSPHINX_BATCH = 'pocketsphinx_batch';

/**
 * Decoder settings beyond pocketsphinx's defaults, each kept because it lowered the word error rate
 * in bench/transcribe/run.ts (figures in docs/benchmarks.md).
 */
export const POCKETSPHINX_TUNING: string[] = [];

/** Reads one `-hypseg` line: `uttid S s T t A a L l` then `startframe ascore lscore word` per word, then the last end frame. */
export function parseHypseg(line: string): { id: string; words: Word[] } | null {
  const t = line.trim().split(/\s+/);
  if (t.length < 9 || t[1] !== 'S') return null;
  const words: Word[] = [];
  const rest = t.slice(9);
  for (let i = 0; i + 3 < rest.length; i += 4) {
    const raw = rest[i + 3];
    const next = Number(rest[i + 4]);
    const word = spokenWord(raw);
    if (!word) continue;
    const end = Number.isFinite(next) ? next : Number(rest[i]);
    words.push({ word, start: Number(rest[i]) / 100, end: end / 100 });
  }
  return { id: t[0], words };
}

/**
 * Decodes each span of a raw 16 kHz mono s16le file with the full decoder, loading the model
 * once. Returns the words of each span, times in seconds from the start of the file, with the
 * talk's vocabulary applied (see vocabulary.ts).
 */
export async function decodeSpans(rawFile: string, spans: Span[], options: TranscribeOptions = {}, tuning = POCKETSPHINX_TUNING): Promise<Word[][]> {
  if (!spans.length) return [];
  const work = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-ps-'));
  try {
    const ctl = path.join(work, 'phrases.ctl');
    const hypseg = path.join(work, 'phrases.hypseg');
    const log = path.join(work, 'decoder.log');
    const base = path.resolve(rawFile).replace(/\.raw$/, '');
    await writeFile(ctl, spans.map((s, i) => `${base} ${Math.round(s.start * 100)} ${Math.round(s.end * 100)} p${i}\n`).join(''));
    const args = [
      ...['-ctl', ctl, '-cepdir', '/', '-cepext', '.raw', '-adcin', 'yes', '-samprate', String(SAMPLE_RATE)],
      ...['-remove_silence', 'no', '-hypseg', hypseg, '-logfn', log],
      ...modelArgs(),
      ...tuning,
    ];
    try {
      await run(POCKETSPHINX_BATCH, args);
    } catch (err) {
      const tail = await readFile(log, 'utf8').catch(() => '');
      const errors = tail
        .split('\n')
        .filter((l) => /ERROR|FATAL/.test(l))
        .slice(-3)
        .join(' | ');
      throw new EngineError(`pocketsphinx failed: ${errors || (err as Error).message}`);
    }
    const byId = new Map<string, Word[]>();
    for (const line of (await readFile(hypseg, 'utf8').catch(() => '')).split('\n')) {
      const parsed = parseHypseg(line);
      if (parsed) byId.set(parsed.id, parsed.words);
    }
    const perSpan = spans.map((s, i) => (byId.get(`p${i}`) ?? []).map((w) => ({ word: w.word, start: round(w.start + s.start), end: round(w.end + s.start) })));
    if (!options.vocabulary?.length) return perSpan;
    const [vocabulary, dict] = await Promise.all([prepareVocabulary(options.vocabulary), loadDictionary()]);
    return perSpan.map((words) => applyVocabulary(words, vocabulary, dict));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Decodes one phrase of 16 kHz mono PCM (found by voice activity; keep ~0.3 s before it) with the
 * full decoder. Words with times in seconds from the start of the PCM.
 */
export async function decodePhrase(pcm: Int16Array, options: TranscribeOptions = {}): Promise<Word[]> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-phrase-'));
  try {
    const raw = path.join(work, 'phrase.raw');
    await writeFile(raw, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    const [words] = await decodeSpans(raw, [{ start: 0, end: pcm.length / SAMPLE_RATE }], options);
    return words ?? [];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Words of one phrase as an utterance (null when nothing was recognized). */
export function utteranceOf(words: Word[]): Utterance | null {
  if (!words.length) return null;
  return { start: words[0].start, end: words[words.length - 1].end, text: words.map((w) => w.word).join(' '), words };
}

/**
 * Debian's pocketsphinx run as child processes: offline, no model download. Each track is cut
 * into phrases by voice activity (with pre-roll, so no first syllable is lost), and all of its
 * phrases are decoded by one full-decoder process.
 */
export class PocketsphinxEngine implements TranscriptionEngine {
  readonly name = 'pocketsphinx' as const;

  /** Decoder flags and phrase detection other than the defaults: for bench/transcribe/run.ts, which compares them. */
  constructor(private readonly settings: { tuning?: string[]; vad?: Partial<VadOptions> } = {}) {}

  async load(): Promise<void> {
    const { access } = await import('node:fs/promises');
    try {
      await access(LANGUAGE_MODEL);
    } catch {
      throw new EngineError(
        `pocketsphinx: the English model is missing under ${POCKETSPHINX_MODEL} (install Debian's pocketsphinx-en-us; scripts/setup-system.sh does)`,
      );
    }
  }

  async transcribe(wavFile: string, options: TranscribeOptions = {}): Promise<EngineResult> {
    const pcm = wavSamples(await readFile(wavFile));
    const spans = speechSpans(pcm, this.settings.vad);
    const work = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-track-'));
    try {
      const raw = path.join(work, 'track.raw');
      await writeFile(raw, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      const perSpan = await decodeSpans(raw, spans, options, this.settings.tuning);
      return { language: 'en', utterances: perSpan.map(utteranceOf).filter((u): u is Utterance => u !== null) };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
