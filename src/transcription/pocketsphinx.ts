import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../platform/media.js';
import type { EngineResult, TranscribeOptions, TranscriptionEngine, Utterance, Word } from './types.js';
import { EngineError } from './types.js';
import { type Span, type VadOptions, speechSpans, wavSamples } from './vad.js';
import { decoderDictionary } from './decoder-dictionary.js';
import { DICTIONARY, applyVocabulary, loadDictionary, pronounce, soundMatched } from './vocabulary.js';

export const POCKETSPHINX = 'pocketsphinx_continuous';
/** Debian's pocketsphinx-en-us model: the default of pocketsphinx_continuous, named so a missing package fails clearly. */
export const POCKETSPHINX_MODEL = '/usr/share/pocketsphinx/model/en-us';

const LANGUAGE_MODEL = `${POCKETSPHINX_MODEL}/en-us.lm.bin`;

/** The model's files as every decoder loads them (the dictionary trimmed to the language model's words: decoder-dictionary.ts). */
export function modelArgs(): string[] {
  return ['-hmm', `${POCKETSPHINX_MODEL}/en-us`, '-lm', LANGUAGE_MODEL, '-dict', decoderDictionary(LANGUAGE_MODEL, DICTIONARY)];
}

/**
 * Debian's Python 3, whose python3-pocketsphinx binds the same pocketsphinx library (5-prealpha) as
 * the command-line decoders; by its full path so another Python on the PATH (a virtualenv, pyenv)
 * is not taken by mistake.
 */
export const PYTHON = '/usr/bin/python3';
/** The transcript's decoder (phrases of a track in, their words out); the same path from src/ and dist/. */
export const SPAN_DECODER = fileURLToPath(new URL('../../src/transcription/span-decoder.py', import.meta.url));

/**
 * Decoder flags (`-name value` pairs) as our Python decoders' settings: yes/no as booleans, the rest
 * as written (ps_decoder.py's `configured` sets each by the flag's type, as the command line does).
 */
export function decoderSettings(flags: string[]): Record<string, string | boolean> {
  const settings: Record<string, string | boolean> = {};
  for (let i = 0; i + 1 < flags.length; i += 2) {
    const value = flags[i + 1];
    settings[flags[i]] = value === 'yes' ? true : value === 'no' ? false : value;
  }
  return settings;
}

const NOT_WORDS = new Set(['<s>', '</s>', '<sil>']);

/** A word pocketsphinx found as said (`word(2)`, an alternate pronunciation, is `word`), or null for its markers and fillers (`<s>`, `<sil>`, `[NOISE]`, `++UM++`). */
export function spokenWord(raw: string): string | null {
  if (NOT_WORDS.has(raw) || /^\[.*\]$/.test(raw) || /^\+\+.*\+\+$/.test(raw)) return null;
  return raw.replace(/\(\d+\)$/, '');
}

/**
 * Decoder settings beyond pocketsphinx's defaults, each kept because it lowered the word error rate
 * in bench/transcribe/run.ts (figures in docs/benchmarks.md).
 */
export const POCKETSPHINX_TUNING: string[] = [];

/**
 * Decodes each span of a raw 16 kHz mono s16le file with the full decoder (span-decoder.py: one
 * process, the model loaded once). Returns the words of each span, times in seconds from the start
 * of the file. The talk's vocabulary (names) is added to the decoder's dictionary and language
 * model first, so it can recognize those words; words the full dictionary lacks are also matched
 * by their sound in what it recognized (applyVocabulary), as live captions do.
 */
export async function decodeSpans(rawFile: string, spans: Span[], options: TranscribeOptions = {}, tuning = POCKETSPHINX_TUNING): Promise<Word[][]> {
  if (!spans.length) return [];
  const vocabulary = options.vocabulary?.length ? await pronounce(options.vocabulary) : [];
  // pocketsphinx's own log beside the audio: its ERROR lines say why, if it fails.
  const log = `${path.resolve(rawFile)}.log`;
  const config = { '-logfn': log, ...decoderSettings(modelArgs()), '-remove_silence': false, ...decoderSettings(tuning) };
  const request = {
    raw: path.resolve(rawFile),
    // In 10-ms frames, as pocketsphinx_batch's control file gave them.
    spans: spans.map((s) => [Math.round(s.start * 100), Math.round(s.end * 100)]),
    words: vocabulary.map((v) => [v.word, v.phones.join(' ')]),
  };
  let out: string;
  try {
    out = await run(PYTHON, [SPAN_DECODER, JSON.stringify({ config })], JSON.stringify(request));
  } catch (err) {
    // The decoder's ERROR lines, and Python's last (an import that failed, a traceback's error).
    const logged = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => /ERROR|FATAL/.test(l));
    const python = (err as Error).message.split('\n').filter((l) => /Error/.test(l));
    const why = [...logged.slice(-3), ...python.slice(-1)].join(' | ') || (err as Error).message;
    const hint = /ImportError|ModuleNotFoundError/.test(why) ? " (it needs Debian's python3-pocketsphinx: bash scripts/setup-system.sh installs it)" : '';
    throw new EngineError(`pocketsphinx failed: ${why}${hint}`);
  }
  const found = new Map<number, [string, number, number][]>();
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const { span, words } = JSON.parse(line) as { span: number; words: [string, number, number][] };
    found.set(span, words);
  }
  const perSpan = spans.map((s, i) =>
    (found.get(i) ?? []).flatMap(([raw, start, end]) => {
      const word = spokenWord(raw);
      return word ? [{ word, start: round(start + s.start), end: round(end + s.start) }] : [];
    }),
  );
  const matched = soundMatched(vocabulary);
  if (!matched.length) return perSpan;
  const dict = await loadDictionary();
  return perSpan.map((words) => applyVocabulary(words, matched, dict));
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

  /**
   * Decoder flags, phrase detection and the span decoder other than the defaults: for
   * bench/transcribe/run.ts, which compares them (and pocketsphinx_batch, the decoder before).
   */
  constructor(private readonly settings: { tuning?: string[]; vad?: Partial<VadOptions>; decode?: typeof decodeSpans } = {}) {}

  /** Its Python binding found once (each transcription asks). */
  private binding: Promise<void> | null = null;

  async load(): Promise<void> {
    const { access } = await import('node:fs/promises');
    try {
      await access(LANGUAGE_MODEL);
    } catch {
      throw new EngineError(
        `pocketsphinx: the English model is missing under ${POCKETSPHINX_MODEL} (install Debian's pocketsphinx-en-us; scripts/setup-system.sh does)`,
      );
    }
    this.binding ??= run(PYTHON, ['-B', '-c', 'import sys; sys.path.insert(0, sys.argv[1]); import ps_decoder', path.dirname(SPAN_DECODER)]).then(
      () => undefined,
      (err: Error) => {
        this.binding = null;
        const why =
          err.message
            .split('\n')
            .filter((l) => /Error/.test(l))
            .pop() ?? err.message;
        throw new EngineError(`pocketsphinx: ${PYTHON} cannot load its binding (${why}); install Debian's python3-pocketsphinx (scripts/setup-system.sh does)`);
      },
    );
    await this.binding;
  }

  async transcribe(wavFile: string, options: TranscribeOptions = {}): Promise<EngineResult> {
    const pcm = wavSamples(await readFile(wavFile));
    const spans = speechSpans(pcm, this.settings.vad);
    const work = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-track-'));
    try {
      const raw = path.join(work, 'track.raw');
      await writeFile(raw, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      const perSpan = await (this.settings.decode ?? decodeSpans)(raw, spans, options, this.settings.tuning);
      return { language: 'en', utterances: perSpan.map(utteranceOf).filter((u): u is Utterance => u !== null) };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
