import type { TranscriptionJson } from '../recordings/schemas.js';

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

/** WebVTT with each cue's speaker as a voice span. */
export function toVtt(t: TranscriptionJson): string {
  const cues = t.segments.map(
    (s, i) => `${i + 1}\n${clock(s.start, '.')} --> ${clock(s.end, '.')}\n<v ${cueText(s.speaker.name).replace(/>/g, '')}>${cueText(s.text)}\n`,
  );
  return ['WEBVTT', '', ...cues].join('\n');
}

export function toSrt(t: TranscriptionJson): string {
  return t.segments.map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.speaker.name}: ${cueText(s.text)}\n`).join('\n');
}

export function toTxt(t: TranscriptionJson): string {
  return t.segments.map((s) => `[${clock(s.start, '.').slice(0, 8)}] ${s.speaker.name}: ${s.text}`).join('\n') + (t.segments.length ? '\n' : '');
}
