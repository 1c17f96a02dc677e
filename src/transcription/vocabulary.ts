import { readFile } from 'node:fs/promises';
import { spawnTied } from '../platform/media.js';
import type { Word } from './types.js';

/**
 * The talk's own words (its name, description, participants' names) in the transcript and the
 * captions. Each gets a pronunciation (`pronounce`): pocketsphinx's own dictionary's, and for words
 * it lacks (most names) Festival's letter-to-sound rules'; a word neither knows is skipped. Our
 * decoders (span-decoder.py for the transcript, stream-decoder.py for captions) add them to their
 * dictionary and language model before decoding (`ps_add_word`). On top, the words the dictionary
 * lacks are matched after decoding (`soundMatched`, `applyVocabulary`): a run of one to four
 * recognized words whose sounds are close to a vocabulary word's (phone edit distance at most 0.4
 * of its length, a vowel for another vowel or a voiced for an unvoiced consonant costing half)
 * becomes that word ("rag nathan" -> "raghunathan").
 */

export const DICTIONARY = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';
/** Vocabulary words shorter than this many phones are left out: too many ordinary words sound like them. */
const MIN_PHONES = 4;
const MAX_DISTANCE = 0.4;

/**
 * pocketsphinx's pronunciation dictionary: each word's first pronunciation, kept as its line's text
 * and split into phones when asked. (134,000 words as arrays of phones took 42 MB of heap, held by
 * the server from start-up for live captions.)
 */
export class Dictionary {
  private readonly lines = new Map<string, string>();

  constructor(text: string) {
    for (const line of text.split('\n')) {
      const entry = /^(\S+)\s+(.*\S)/.exec(line);
      // "word(2) ...": a second pronunciation.
      if (entry && !/\(\d+\)$/.test(entry[1])) this.lines.set(entry[1], entry[2]);
    }
  }

  has(word: string): boolean {
    return this.lines.has(word);
  }

  /** The word's phones, or undefined if it is not in the dictionary. */
  phones(word: string): string[] | undefined {
    return this.lines.get(word)?.split(/\s+/);
  }
}

let dictionary: Promise<Dictionary> | null = null;

/** pocketsphinx's pronunciation dictionary, loaded once. */
export function loadDictionary(file = DICTIONARY): Promise<Dictionary> {
  dictionary ??= readFile(file, 'utf8').then((text) => new Dictionary(text));
  return dictionary;
}

/** The distinct lower-case words of a talk's name, description and participants' names. */
export function talkVocabulary(texts: (string | null | undefined)[]): string[] {
  const words = new Set<string>();
  for (const text of texts)
    for (const w of (text ?? '').toLowerCase().split(/[^a-z']+/)) {
      const word = w.replace(/^'+|'+$/g, '');
      if (word.length >= 3) words.add(word);
    }
  return [...words];
}

/** Festival's US phones (the "radio" set) that CMU's set, pocketsphinx's, lacks: as the CMU dictionary writes them. */
const RADIO_TO_CMU: Record<string, string[]> = {
  ax: ['AH'],
  axr: ['ER'],
  dx: ['D'],
  hv: ['HH'],
  nx: ['N'],
  el: ['AH', 'L'],
  em: ['AH', 'M'],
  en: ['AH', 'N'],
};

/**
 * What Festival said of each word it was asked about (null: it could not say it), kept for the
 * process's life: every transcription of a talk's tracks, and every live talk, asks about the same
 * names again (one Festival run is about 0.3 s of CPU). Bounded: emptied past FESTIVAL_KEPT words.
 */
const festivalSaid = new Map<string, string[] | null>();
const FESTIVAL_KEPT = 50_000;

/** The last lookup asked of Festival: one runs at a time, so a recording's tracks, transcribed at once, ask it once. */
let festivalTurn: Promise<unknown> = Promise.resolve();

/** Festival's lexicon and letter-to-sound rules, in pocketsphinx's phone set; words it cannot say are left out. */
function festivalPronunciations(words: string[]): Promise<Map<string, string[]>> {
  const turn = festivalTurn.then(() => askFestival(words));
  festivalTurn = turn.catch(() => undefined);
  return turn;
}

async function askFestival(words: string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const ask = [...new Set(words)].filter((w) => !festivalSaid.has(w));
  if (ask.length) {
    const { output, ok } = await new Promise<{ output: string; ok: boolean }>((resolve) => {
      // Through the spawner: live captions look words up while talks run, and a spawn from the app's
      // own process holds its event loop (src/platform/spawner.ts).
      const child = spawnTied('festival', ['--pipe'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      child.once('error', () => resolve({ output: '', ok: false })); // Festival not installed: no pronunciations for unknown words
      child.once('close', (code) => resolve({ output: out, ok: code === 0 }));
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(ask.map((w) => `(print (lex.lookup "${w.replace(/[^a-z']/g, '')}" nil))\n`).join(''));
    });
    const said = new Map<string, string[]>();
    for (const line of output.split('\n')) {
      const m = /^\("([a-z']+)" nil (.*)\)$/.exec(line.trim());
      if (!m) continue;
      const phones = m[2]
        .replace(/[()]|\b\d\b/g, ' ')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .flatMap((p) => RADIO_TO_CMU[p] ?? [p.toUpperCase()]);
      if (phones.length) said.set(m[1], phones);
    }
    // Only what a Festival run that ended well said is kept (a missing Festival may be installed later).
    if (ok) {
      if (festivalSaid.size + ask.length > FESTIVAL_KEPT) festivalSaid.clear();
      for (const w of ask) festivalSaid.set(w, said.get(w) ?? null);
    } else for (const [w, phones] of said) found.set(w, phones);
  }
  for (const w of words) {
    const phones = festivalSaid.get(w);
    if (phones) found.set(w, phones);
  }
  return found;
}

export interface VocabularyWord {
  word: string;
  phones: string[];
}

/**
 * The pronounced words worth matching by sound (applyVocabulary): only those the dictionary lacks.
 * A word the dictionary has, the decoder can already recognize; matching it too only turned other
 * words into it (a speaker named "Host" made "first of all" come out as "host of all").
 */
export function soundMatched(words: Pronounced[]): VocabularyWord[] {
  return words.filter((v) => !v.inDictionary).map(({ word, phones }) => ({ word, phones }));
}

/** A vocabulary word with its pronunciation, and whether that came from pocketsphinx's dictionary. */
export type Pronounced = VocabularyWord & { inDictionary: boolean };

/** The model's phones (CMU's 39): a pronunciation with another is left out, as the decoder could not add it. */
const PHONES = new Set('AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' '));

/**
 * Each word with a pronunciation: pocketsphinx's dictionary's, else Festival's letter-to-sound
 * rules'. Words of fewer than MIN_PHONES phones, or that neither can say (in the model's phones),
 * are left out. (Our decoders are given these and recognize them from then on: ps_decoder.py.)
 */
export async function pronounce(words: string[]): Promise<Pronounced[]> {
  const dict = await loadDictionary();
  const guessed = await festivalPronunciations(words.filter((w) => !dict.has(w)));
  return words
    .map((word) => ({ word, phones: dict.phones(word) ?? guessed.get(word) ?? [], inDictionary: dict.has(word) }))
    .filter((v) => v.phones.length >= MIN_PHONES && v.phones.every((p) => PHONES.has(p)));
}

const VOWELS = new Set(['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW']);
/** Consonants that differ only in voicing or by a breath: the recognizer confuses them most. */
const NEAR = [
  ['P', 'B'],
  ['T', 'D'],
  ['K', 'G'],
  ['F', 'V'],
  ['TH', 'DH'],
  ['T', 'TH'],
  ['D', 'DH'],
  ['S', 'Z'],
  ['SH', 'ZH'],
  ['CH', 'JH'],
  ['M', 'N'],
  ['N', 'NG'],
].map(([a, b]) => `${a} ${b}`);

/** What replacing one phone by another costs: 0 if equal, half between two vowels or two near consonants, else 1. */
function substitution(a: string, b: string): number {
  if (a === b) return 0;
  if (VOWELS.has(a) && VOWELS.has(b)) return 0.5;
  return NEAR.includes(`${a} ${b}`) || NEAR.includes(`${b} ${a}`) ? 0.5 : 1;
}

function editDistance(a: string[], b: string[]): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + substitution(a[i - 1], b[j - 1]));
    row = next;
  }
  return row[b.length];
}

/**
 * Replaces runs of one to four recognized words that sound like a vocabulary word with it,
 * closest matches first, never overlapping. Times of a replaced run span its words.
 */
export function applyVocabulary(words: Word[], vocabulary: VocabularyWord[], dict: Dictionary): Word[] {
  if (!vocabulary.length || !words.length) return words;
  const candidates: { at: number; length: number; word: string; distance: number }[] = [];
  // Each word's phones, read once (a word is in up to four runs); undefined: not in the dictionary.
  const known = words.map((w) => dict.phones(w.word));
  for (let at = 0; at < words.length; at++)
    for (let length = 1; length <= 4 && at + length <= words.length; length++) {
      const runPhones = known.slice(at, at + length);
      if (runPhones.some((p) => p === undefined)) continue;
      const phones = runPhones.flat() as string[];
      if (!phones.length) continue;
      const text = words
        .slice(at, at + length)
        .map((w) => w.word)
        .join(' ');
      for (const v of vocabulary) {
        if (text === v.word) continue;
        const distance = editDistance(phones, v.phones) / Math.max(phones.length, v.phones.length);
        if (distance <= MAX_DISTANCE) candidates.push({ at, length, word: v.word, distance });
      }
    }
  // Words already equal to a vocabulary word are never replaced.
  const taken = words.map((w) => vocabulary.some((v) => v.word === w.word));
  const replaced = new Map<number, { length: number; word: string }>();
  for (const c of candidates.sort((a, b) => a.distance - b.distance || b.length - a.length)) {
    if (taken.slice(c.at, c.at + c.length).some(Boolean)) continue;
    for (let i = c.at; i < c.at + c.length; i++) taken[i] = true;
    replaced.set(c.at, c);
  }
  const out: Word[] = [];
  for (let i = 0; i < words.length; ) {
    const r = replaced.get(i);
    if (r) {
      out.push({ word: r.word, start: words[i].start, end: words[i + r.length - 1].end });
      i += r.length;
    } else out.push(words[i++]);
  }
  return out;
}
