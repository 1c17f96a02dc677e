import type { TranscriptionJson } from './schema.js';

function clock(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** Cue text may not contain "-->" or blank lines. */
function cueText(text: string): string {
  return text.replace(/-->/g, '->').replace(/\n+/g, ' ');
}

/** What a player can show at once: a cue of at most 7 s and two lines of 42 characters. */
export const CUE_MAX_SECONDS = 7;
export const CUE_LINE_CHARS = 42;
const CUE_CHARS = CUE_LINE_CHARS * 2;

type Segment = TranscriptionJson['segments'][number];
interface Cue {
  start: number;
  end: number;
  text: string;
  speaker: string;
}

/** Cuts a segment into cues a player can show, at word times when the segment has them, else by characters. */
function segmentCues(s: Segment): Cue[] {
  const speaker = s.speaker.name;
  const words = s.words?.length ? s.words : null;
  if (words) {
    const cues: Cue[] = [];
    let first = 0;
    for (let i = 1; i <= words.length; i++) {
      const text = words.slice(first, i + 1).map((w) => w.word);
      const tooLong = i === words.length || text.join(' ').length > CUE_CHARS || words[i].end - words[first].start > CUE_MAX_SECONDS;
      if (tooLong) {
        const part = words.slice(first, i);
        cues.push({ start: part[0].start, end: part[part.length - 1].end, text: part.map((w) => w.word).join(' '), speaker });
        first = i;
      }
    }
    return cues;
  }
  const tokens = s.text.split(/\s+/).filter(Boolean);
  const chunks: string[] = [];
  for (const token of tokens) {
    const last = chunks[chunks.length - 1];
    if (last !== undefined && `${last} ${token}`.length <= CUE_CHARS) chunks[chunks.length - 1] = `${last} ${token}`;
    else chunks.push(token);
  }
  // Times shared out by characters; then each chunk is cut again if still longer than a cue may be.
  const perChar =
    (s.end - s.start) /
    Math.max(
      1,
      chunks.reduce((n, c) => n + c.length, 0),
    );
  let at = s.start;
  return chunks.flatMap((text) => {
    const start = at;
    at += text.length * perChar;
    const n = Math.ceil((at - start) / CUE_MAX_SECONDS - 1e-9);
    if (n <= 1) return [{ start, end: at, text, speaker }];
    const parts = text.split(' ');
    const size = Math.ceil(parts.length / n);
    const step = (at - start) / n;
    return Array.from({ length: n }, (_, k) => ({
      start: start + k * step,
      end: start + (k + 1) * step,
      text: parts.slice(k * size, (k + 1) * size).join(' '),
      speaker,
    })).filter((c) => c.text);
  });
}

/** Breaks a cue's text into at most two lines of about 42 characters, as balanced as the spaces allow. */
export function cueLines(text: string): string {
  if (text.length <= CUE_LINE_CHARS) return text;
  const middle = text.length / 2;
  const fits = (i: number) => i <= CUE_LINE_CHARS && text.length - i - 1 <= CUE_LINE_CHARS;
  let cut = -1;
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ' ') continue;
    const better = cut < 0 || (fits(i) && !fits(cut)) || (fits(i) === fits(cut) && Math.abs(i - middle) < Math.abs(cut - middle));
    if (better) cut = i;
  }
  return cut < 0 ? text : `${text.slice(0, cut)}\n${text.slice(cut + 1)}`;
}

export function transcriptCues(t: TranscriptionJson): Cue[] {
  return t.segments.flatMap(segmentCues);
}

/** WebVTT with each cue's speaker as a voice span. */
export function toVtt(t: TranscriptionJson): string {
  const cues = transcriptCues(t).map(
    (c, i) => `${i + 1}\n${clock(c.start, '.')} --> ${clock(c.end, '.')}\n<v ${cueText(c.speaker).replace(/>/g, '')}>${cueLines(cueText(c.text))}\n`,
  );
  return ['WEBVTT', '', ...cues].join('\n');
}

export function toSrt(t: TranscriptionJson): string {
  return transcriptCues(t)
    .map((c, i) => `${i + 1}\n${clock(c.start, ',')} --> ${clock(c.end, ',')}\n${cueLines(`${cueText(c.speaker)}: ${cueText(c.text)}`)}\n`)
    .join('\n');
}

export function toTxt(t: TranscriptionJson): string {
  return t.segments.map((s) => `[${clock(s.start, '.').slice(0, 8)}] ${s.speaker.name}: ${s.text}`).join('\n') + (t.segments.length ? '\n' : '');
}
