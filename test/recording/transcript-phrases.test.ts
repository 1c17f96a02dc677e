import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CUE_MAX_SECONDS } from '../../src/transcription/formats.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { wer } from './media.js';
import { composeTrack, parseCues, tightSpeech, transcribeTracks } from './transcript-media.js';

const tmp = (name: string) => path.join(os.tmpdir(), `st-phrases-${process.pid}-${name}`);

describe('transcripts in phrases (real Festival speech, AAC tracks, pocketsphinx)', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ background: false });
    p = await createPartner(t, 'Acme');
  });
  after(() => t?.close());

  test('three sentences with 1 s pauses: three segments on the recording timeline (track offset added), word times, speaker named', async () => {
    const lines = [
      'Good evening and thank you all for coming tonight.',
      'We will talk about the garden and the young trees.',
      'Please ask your questions at the end.',
    ];
    const parts = await Promise.all(lines.map(tightSpeech));
    const lead = 0.8;
    const offset = 2.5;
    const file = await composeTrack([lead, parts[0].file, 1, parts[1].file, 1, parts[2].file, 0.8], tmp('three.m4a'));
    const { transcript, recordingId } = await transcribeTracks(t, p, { name: 'Garden hour' }, [{ name: 'Hana Host', file, offset }]);

    let at = offset + lead;
    const expected = parts.map((part) => {
      const span = { start: at, end: at + part.seconds };
      at += part.seconds + 1;
      return span;
    });
    assert.equal(transcript.segments.length, 3, JSON.stringify(transcript.segments.map((s) => [s.start, s.end, s.text])));
    for (const [i, s] of transcript.segments.entries()) {
      assert.ok(Math.abs(s.start - expected[i].start) <= 0.5, `segment ${i} starts at ${s.start}, speech at ${expected[i].start}`);
      assert.ok(Math.abs(s.end - expected[i].end) <= 0.5, `segment ${i} ends at ${s.end}, speech at ${expected[i].end}`);
      assert.equal(s.speaker.name, 'Hana Host');
      assert.ok(wer(lines[i], s.text) < 0.35, `${lines[i]} / ${s.text}`);
      assert.ok(s.words && s.words.length >= 3, 'word times');
      assert.equal(s.words.map((w) => w.word).join(' '), s.text);
      for (const w of s.words) assert.ok(w.start >= s.start && w.end <= s.end && w.start < w.end, `word ${JSON.stringify(w)} inside ${s.start}-${s.end}`);
    }
    // The exports, over HTTP: valid, showable cues on the same timeline.
    for (const format of ['vtt', 'srt'] as const) {
      const res = await fetch(`${t.url}/api/v1/partners/recordings/${recordingId}/transcript.${format}`, { headers: { authorization: `Bearer ${p.token}` } });
      assert.equal(res.status, 200);
      const cues = parseCues(await res.text(), format);
      assert.ok(cues.length >= 3);
      assert.ok(Math.abs(cues[0].start - transcript.segments[0].start) < 0.01);
      for (const c of cues) assert.ok(c.end - c.start <= CUE_MAX_SECONDS && c.lines.length <= 2);
    }
  });

  test('two speakers who talk in turns come out interleaved in time order', async () => {
    const [a1, b1, a2, b2] = await Promise.all(
      [
        'Welcome to the show, it is good to have you here.',
        'Thank you for having me on the show.',
        'Tell us about your farm in the north.',
        'I grow tomatoes and beans every summer.',
      ].map(tightSpeech),
    );
    // Host speaks from 0.5 s; the guest joins the recording 1 s in (their track's offset) and answers each turn.
    const gap = 0.8;
    const hostFile = await composeTrack([0.5, a1.file, gap + b1.seconds + gap, a2.file, gap + b2.seconds + 0.5], tmp('host.m4a'));
    const guestOffset = 1;
    const b1At = 0.5 + a1.seconds + gap;
    const b2At = b1At + b1.seconds + gap + a2.seconds + gap;
    const guestFile = await composeTrack([b1At - guestOffset, b1.file, gap + a2.seconds + gap, b2.file, 0.5], tmp('guest.m4a'));
    const { transcript } = await transcribeTracks(t, p, { name: 'Farm talk' }, [
      { name: 'Hana Host', file: hostFile, offset: 0 },
      { name: 'Gus Guest', file: guestFile, offset: guestOffset },
    ]);
    const who = transcript.segments.map((s) => s.speaker.name);
    assert.deepEqual(who, ['Hana Host', 'Gus Guest', 'Hana Host', 'Gus Guest'], JSON.stringify(transcript.segments.map((s) => [s.start, s.text])));
    assert.ok(Math.abs(transcript.segments[1].start - b1At) <= 0.5, `guest's first turn at ${transcript.segments[1].start}, spoken at ${b1At}`);
    assert.ok(Math.abs(transcript.segments[3].start - b2At) <= 0.5, `guest's second turn at ${transcript.segments[3].start}, spoken at ${b2At}`);
    for (let i = 1; i < transcript.segments.length; i++) assert.ok(transcript.segments[i].start >= transcript.segments[i - 1].start);
  });

  test('no first word lost: each phrase after silence keeps its opening word', async () => {
    const openings = [
      { text: 'Good evening and thank you for joining us.', first: 'good' },
      { text: 'Hello everyone, welcome back to the garden hour.', first: 'hello' },
      { text: 'Today we will plant tomatoes.', first: 'today' },
      { text: 'First of all, thank you for the seeds.', first: 'first' },
      { text: 'So what did you bring for us?', first: 'so' },
    ];
    const parts = await Promise.all(openings.map((o) => tightSpeech(o.text)));
    // Each opening comes after a long silence, as a speaker's first words after a mute do.
    const file = await composeTrack([...parts.flatMap((part) => [2, part.file]), 1], tmp('openings.m4a'));
    const { transcript } = await transcribeTracks(t, p, { name: 'Openings' }, [{ name: 'Hana Host', file, offset: 0 }]);
    assert.equal(transcript.segments.length, openings.length, JSON.stringify(transcript.segments.map((s) => s.text)));
    for (const [i, o] of openings.entries())
      assert.equal(transcript.segments[i].text.split(' ')[0], o.first, `"${o.text}" came out as "${transcript.segments[i].text}"`);
  });
});
