import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TranscriptionJson } from '../../src/transcription/schema.js';
import { CUE_LINE_CHARS, CUE_MAX_SECONDS, toSrt, toVtt } from '../../src/transcription/formats.js';
import { splitLong } from '../../src/transcription/phrases.js';
import { type ParsedCue, parseCues } from './transcript-media.js';

const speaker = { user_id: null, uid: 'u1', username: 'hana', name: 'Hana Host' };
const TEXT =
  'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them he was not an ill disposed young man';

/** A 14 s segment with a word every 0.45 s, and a 12 s one without word times (as the HTTP engine may give). */
function transcript(): TranscriptionJson {
  const tokens = TEXT.split(' ');
  const words = tokens.map((word, i) => ({ word, start: 10 + i * 0.45, end: 10 + i * 0.45 + 0.38 }));
  return {
    text: `${TEXT} ${TEXT}`,
    language: 'en',
    engine: 'pocketsphinx',
    segments: [
      { start: words[0].start, end: words[words.length - 1].end, text: TEXT, speaker, words },
      { start: 30, end: 42, text: TEXT, speaker: { ...speaker, name: 'Gus Guest' } },
    ],
  };
}

function assertShowable(cues: ParsedCue[], lineLimit: number) {
  assert.ok(cues.length > 4, `${cues.length} cues`);
  for (const c of cues) {
    assert.ok(c.end - c.start <= CUE_MAX_SECONDS + 1e-6, `cue ${c.start}-${c.end} lasts over ${CUE_MAX_SECONDS} s`);
    assert.ok(c.lines.length <= 2, `cue of ${c.lines.length} lines: ${c.lines.join(' / ')}`);
    for (const l of c.lines) assert.ok(l.length <= lineLimit, `line of ${l.length} chars: ${l}`);
  }
  for (let i = 1; i < cues.length; i++) assert.ok(cues[i].start >= cues[i - 1].start, 'cues in time order');
}

describe('transcript exports', () => {
  test('VTT: valid syntax, long segments cut into cues of at most 7 s and two lines of 42 characters, at word times when known', () => {
    const t = transcript();
    const cues = parseCues(toVtt(t), 'vtt');
    // The voice span takes no room on screen; only the words count against the line length.
    assertShowable(
      cues.map((c) => ({ ...c, lines: c.lines.map((l) => l.replace(/^<v [^>]*>/, '')) })),
      CUE_LINE_CHARS,
    );
    const words = t.segments[0].words ?? [];
    const fromWords = cues.filter((c) => c.end <= 25);
    for (const c of fromWords) {
      assert.ok(
        words.some((w) => Math.abs(w.start - c.start) < 0.001),
        `cue starts at a word's start: ${c.start}`,
      );
      assert.ok(
        words.some((w) => Math.abs(w.end - c.end) < 0.001),
        `cue ends at a word's end: ${c.end}`,
      );
    }
    assert.equal(cues.map((c) => c.lines.join(' ').replace(/<v [^>]*>/g, '')).join(' '), `${TEXT} ${TEXT}`, 'no word lost or repeated');
    assert.match(cues[0].lines[0], /^<v Hana Host>/);
  });

  test('SRT: valid syntax, numbered from 1, the same showable cues with the speaker named', () => {
    const cues = parseCues(toSrt(transcript()), 'srt');
    assertShowable(cues, CUE_LINE_CHARS + 'Gus Guest: '.length);
    assert.match(cues[0].lines[0], /^Hana Host: and mister/);
  });

  test('an engine segment over 15 s is cut into phrases: at its longest pause with word times, else at sentence ends', () => {
    const words = TEXT.split(' ').map((word, i) => ({ word, start: i * 0.6 + (i >= 18 ? 0.9 : 0), end: i * 0.6 + 0.5 + (i >= 18 ? 0.9 : 0) }));
    const parts = splitLong({ start: 0, end: words[words.length - 1].end, text: TEXT, words });
    assert.ok(parts.length >= 2);
    assert.equal(parts[0].words?.length, 18, 'cut at the 0.9 s pause');
    for (const part of parts) assert.ok(part.end - part.start <= 15);
    const sentences = splitLong({ start: 0, end: 24, text: 'We planted beans. Then it rained for a week! The beans grew well, and then we ate them all.' });
    assert.deepEqual(
      sentences.map((s) => s.text),
      ['We planted beans.', 'Then it rained for a week!', 'The beans grew well, and then we ate them all.'],
    );
    for (const s of sentences) assert.ok(s.end - s.start <= 15);
    const unpunctuated = splitLong({ start: 5, end: 25, text: TEXT });
    assert.equal(unpunctuated.length, 2);
    assert.equal(unpunctuated.map((s) => s.text).join(' '), TEXT);
    for (const s of unpunctuated) assert.ok(s.end - s.start <= 15 && s.start >= 5 && s.end <= 25.001);
  });
});
