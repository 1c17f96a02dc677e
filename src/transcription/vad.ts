/**
 * Voice activity on 16 kHz mono 16-bit PCM: where the phrases of one speaker's track are.
 * An energy detector with a threshold set from the track's own levels (its quiet floor and its
 * loud speech), so it works on digital silence (a muted mic) as well as on room noise.
 */

export const SAMPLE_RATE = 16000;
const FRAME = SAMPLE_RATE / 100; // 10 ms, the recognizer's frame

/** A stretch of audio in seconds from the start of the PCM. */
export interface Span {
  start: number;
  end: number;
}

export interface VadOptions {
  /** Audio kept before detected speech so the first syllable's onset reaches the recognizer. */
  preRoll: number;
  /** Audio kept after detected speech (the fading end of the last word). */
  postRoll: number;
  /** A quiet stretch at least this long ends a phrase. */
  minPause: number;
  /** Shorter bursts of energy are noise (a click, a breath). */
  minSpeech: number;
  /** Phrases longer than this are cut at their longest inner pause. */
  targetMax: number;
  /** No phrase is longer than this. */
  hardMax: number;
}

export const VAD_DEFAULTS: VadOptions = { preRoll: 0.3, postRoll: 0.2, minPause: 0.35, minSpeech: 0.12, targetMax: 8, hardMax: 15 };

/** The samples of a PCM WAV file (16-bit, the format ffmpeg's pcm_s16le writes), whatever chunks precede `data`. */
export function wavSamples(wav: Buffer): Int16Array {
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV file');
  let at = 12;
  while (at + 8 <= wav.length) {
    const id = wav.toString('ascii', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'data') {
      const end = Math.min(wav.length, at + 8 + size);
      const bytes = wav.subarray(at + 8, end - ((end - at - 8) % 2));
      return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('WAV file without a data chunk');
}

/** Level of each 10 ms frame in dBFS (digital silence is -100). */
export function frameLevels(pcm: Int16Array): Float64Array {
  const n = Math.floor(pcm.length / FRAME);
  const levels = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    let sum = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) sum += pcm[i] * pcm[i];
    const rms = Math.sqrt(sum / FRAME) / 32768;
    levels[f] = rms > 1e-5 ? 20 * Math.log10(rms) : -100;
  }
  return levels;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : -100;
}

/** The level above which a frame counts as speech. */
function threshold(levels: Float64Array): number {
  const sorted = Float64Array.from(levels).sort();
  const floor = percentile(sorted, 0.1);
  const loud = percentile(sorted, 0.95);
  // A third of the way from the floor to loud speech, never below -60 dBFS nor within 6 dB of the floor.
  return Math.max(floor + 6, floor + (loud - floor) / 3, -60);
}

/** Runs of speech frames as [first, last+1) frame pairs, pauses shorter than minPause bridged. */
function runs(levels: Float64Array, limit: number, minPause: number, minSpeech: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  let quiet = 0;
  const pauseFrames = Math.round(minPause * 100);
  for (let f = 0; f <= levels.length; f++) {
    const loud = f < levels.length && levels[f] >= limit;
    if (loud) {
      if (start < 0) start = f;
      quiet = 0;
    } else if (start >= 0) {
      quiet++;
      if (quiet >= pauseFrames || f === levels.length) {
        const end = f - quiet + 1;
        if (end - start >= minSpeech * 100) out.push([start, end]);
        start = -1;
        quiet = 0;
      }
    }
  }
  return out;
}

/** Cuts a run longer than targetMax at its longest inner pause (or, past hardMax, at its quietest frame). */
function split(levels: Float64Array, limit: number, run: [number, number], o: VadOptions): [number, number][] {
  const [a, b] = run;
  if (b - a <= o.targetMax * 100) return [run];
  const margin = 150; // keep both parts at least 1.5 s long
  let best = -1;
  let bestLength = 0;
  let quietStart = -1;
  for (let f = a + margin; f < b - margin; f++) {
    if (levels[f] < limit) {
      if (quietStart < 0) quietStart = f;
      if (f - quietStart + 1 > bestLength) {
        bestLength = f - quietStart + 1;
        best = quietStart + Math.floor(bestLength / 2);
      }
    } else quietStart = -1;
  }
  if (bestLength < 5 && b - a <= o.hardMax * 100) return [run]; // no real pause (50 ms) and not too long: keep it whole
  if (best < 0 || bestLength < 5) {
    // A 15 s+ stretch with no pause: cut at the quietest 100 ms.
    let quietest = Number.POSITIVE_INFINITY;
    for (let f = a + margin; f < b - margin - 10; f++) {
      let sum = 0;
      for (let g = f; g < f + 10; g++) sum += levels[g];
      if (sum < quietest) {
        quietest = sum;
        best = f + 5;
      }
    }
    if (best < 0) best = a + Math.floor((b - a) / 2);
  }
  return [...split(levels, limit, [a, best], o), ...split(levels, limit, [best, b], o)];
}

/** The phrases in the PCM, in order, with pre- and post-roll, never overlapping and none longer than hardMax (+ rolls). */
export function speechSpans(pcm: Int16Array, options: Partial<VadOptions> = {}): Span[] {
  const o = { ...VAD_DEFAULTS, ...options };
  const levels = frameLevels(pcm);
  const limit = threshold(levels);
  const found = runs(levels, limit, o.minPause, o.minSpeech).flatMap((r) => split(levels, limit, r, o));
  const total = pcm.length / SAMPLE_RATE;
  const spans: Span[] = [];
  for (const [i, [a, b]] of found.entries()) {
    const previousEnd = i > 0 ? found[i - 1][1] / 100 : 0;
    const nextStart = i < found.length - 1 ? found[i + 1][0] / 100 : total;
    // Rolls never reach into the neighbouring phrase's speech; a shared pause is split between them.
    const start = Math.max(0, a / 100 - o.preRoll, i > 0 ? (previousEnd + a / 100) / 2 : 0);
    const end = Math.min(total, b / 100 + o.postRoll, i < found.length - 1 ? (b / 100 + nextStart) / 2 : total);
    spans.push({ start: round(start), end: round(end) });
  }
  return spans;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
