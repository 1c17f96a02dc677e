import type { Utterance, Word } from './types.js';

/** No transcript segment is longer than this (seconds). */
export const MAX_SEGMENT = 15;

/**
 * Cuts an utterance longer than `max` seconds into phrases: at its longest pause between words
 * when the engine gave word times, else at sentence ends (times shared out by characters).
 * Engines that already return phrases (pocketsphinx here) pass through unchanged.
 */
export function splitLong(u: Utterance, max = MAX_SEGMENT): Utterance[] {
  if (u.end - u.start <= max) return [u];
  if (u.words && u.words.length > 1) return splitAtPause(u.words, max);
  const sentences = u.text
    .match(/[^.!?]+(?:[.!?]+|$)/g)
    ?.map((s) => s.trim())
    .filter(Boolean) ?? [u.text];
  const perChar = (u.end - u.start) / sentences.reduce((n, s) => n + s.length, 0);
  let at = u.start;
  const parts = sentences.map((text) => {
    const start = at;
    at += text.length * perChar;
    return { start: round(start), end: round(at), text };
  });
  // A sentence under 2 s joins the next one, so a run of short ones is not a run of tiny segments.
  const out: Utterance[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (last && p.end - last.start <= 8 && last.end - last.start < 2) out[out.length - 1] = { start: last.start, end: p.end, text: `${last.text} ${p.text}` };
    else out.push(p);
  }
  return out.flatMap((p) => (p.end - p.start > max ? evenly(p, Math.ceil((p.end - p.start) / max)) : [p]));
}

/** A sentence still over the limit: cut into n runs of words, times shared out by characters. */
function evenly(u: Utterance, n: number): Utterance[] {
  const tokens = u.text.split(/\s+/);
  const size = Math.ceil(tokens.length / n);
  const groups = Array.from({ length: n }, (_, k) => tokens.slice(k * size, (k + 1) * size).join(' ')).filter(Boolean);
  const perChar = (u.end - u.start) / groups.reduce((c, g) => c + g.length, 0);
  let at = u.start;
  return groups.map((text) => {
    const start = at;
    at += text.length * perChar;
    return { start: round(start), end: round(at), text };
  });
}

function splitAtPause(words: Word[], max: number): Utterance[] {
  const span = words[words.length - 1].end - words[0].start;
  if (span <= max || words.length < 2) return [fromWords(words)];
  let cut = 1;
  let best = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < words.length; i++) {
    // The longest pause, preferring cuts near the middle.
    const gap = words[i].start - words[i - 1].end;
    const balance = Math.min(words[i].start - words[0].start, words[words.length - 1].end - words[i].start) / span;
    const score = gap + balance * 0.2;
    if (score > best) {
      best = score;
      cut = i;
    }
  }
  return [...splitAtPause(words.slice(0, cut), max), ...splitAtPause(words.slice(cut), max)];
}

function fromWords(words: Word[]): Utterance {
  return { start: words[0].start, end: words[words.length - 1].end, text: words.map((w) => w.word).join(' '), words };
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
