// The transcript's span decoder before the Python one (src/transcription/span-decoder.py):
// `pocketsphinx_batch` over a control file of the phrases, words read from its `-hypseg` output,
// the talk's vocabulary only matched by sound afterwards (it cannot add words). Kept here so
// bench/transcribe/run.ts can measure the two in the same run.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/platform/media.js';
import { POCKETSPHINX_TUNING, modelArgs, spokenWord } from '../../src/transcription/pocketsphinx.js';
import type { TranscribeOptions, Word } from '../../src/transcription/types.js';
import type { Span } from '../../src/transcription/vad.js';
import { applyVocabulary, loadDictionary, pronounce, soundMatched } from '../../src/transcription/vocabulary.js';
import { SAMPLE_RATE } from '../../src/transcription/vad.js';

/** Reads one `-hypseg` line: `uttid S s T t A a L l` then `startframe ascore lscore word` per word, then the last end frame. */
function parseHypseg(line: string): { id: string; words: Word[] } | null {
  const t = line.trim().split(/\s+/);
  if (t.length < 9 || t[1] !== 'S') return null;
  const words: Word[] = [];
  const rest = t.slice(9);
  for (let i = 0; i + 3 < rest.length; i += 4) {
    const word = spokenWord(rest[i + 3]);
    if (!word) continue;
    const next = Number(rest[i + 4]);
    words.push({ word, start: Number(rest[i]) / 100, end: (Number.isFinite(next) ? next : Number(rest[i])) / 100 });
  }
  return { id: t[0], words };
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** decodeSpans as it was: the same arguments and result. */
export async function decodeSpansBatch(rawFile: string, spans: Span[], options: TranscribeOptions = {}, tuning = POCKETSPHINX_TUNING): Promise<Word[][]> {
  if (!spans.length) return [];
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-ps-'));
  try {
    const ctl = path.join(work, 'phrases.ctl');
    const hypseg = path.join(work, 'phrases.hypseg');
    const base = path.resolve(rawFile).replace(/\.raw$/, '');
    await writeFile(ctl, spans.map((s, i) => `${base} ${Math.round(s.start * 100)} ${Math.round(s.end * 100)} p${i}\n`).join(''));
    await run('pocketsphinx_batch', [
      ...['-ctl', ctl, '-cepdir', '/', '-cepext', '.raw', '-adcin', 'yes', '-samprate', String(SAMPLE_RATE)],
      ...['-remove_silence', 'no', '-hypseg', hypseg, '-logfn', path.join(work, 'decoder.log')],
      ...modelArgs(),
      ...tuning,
    ]);
    const byId = new Map<string, Word[]>();
    for (const line of (await readFile(hypseg, 'utf8')).split('\n')) {
      const parsed = parseHypseg(line);
      if (parsed) byId.set(parsed.id, parsed.words);
    }
    const perSpan = spans.map((s, i) => (byId.get(`p${i}`) ?? []).map((w) => ({ word: w.word, start: round(w.start + s.start), end: round(w.end + s.start) })));
    if (!options.vocabulary?.length) return perSpan;
    const [vocabulary, dict] = await Promise.all([pronounce(options.vocabulary).then(soundMatched), loadDictionary()]);
    return perSpan.map((words) => applyVocabulary(words, vocabulary, dict));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
