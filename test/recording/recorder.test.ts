import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probeDuration } from '../../src/platform/media.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { RtpTestRoom, eventsOf, meanVolume, speaker, speech, spokenBy, wer, withPauses } from './media.js';

const HOST_LINES = ['Welcome everyone to our weekly talk about the garden.', 'Today we will plant tomatoes and water the young trees.'];
const GUEST_LINES = ['Thank you for having me on the show.', 'I brought some seeds from my farm in the north.'];

describe('recording a live talk (RTP in, mp4 out)', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  const room = new RtpTestRoom();
  let hostWav: string;
  let guestWav: string;
  before(async () => {
    const tmp = os.tmpdir();
    hostWav = await withPauses(await Promise.all(HOST_LINES.map(speech)), 1.0, path.join(tmp, `st-host-${process.pid}.wav`));
    guestWav = await withPauses(await Promise.all(GUEST_LINES.map(speech)), 1.0, path.join(tmp, `st-guest-${process.pid}.wav`));
    t = await startApp({ background: false, live: room });
    const { startBackground } = await import('../../src/compose.js');
    await startBackground(t.services);
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
  });
  after(() => t?.close());

  test('two speakers, the second joining late: one mixed mp4, per-speaker tracks, recording_saved once, transcript by speaker', async () => {
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Garden hour' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk);
    room.voice('host-1', hostWav);
    room.voice('guest-1', guestWav);
    const startedAt = new Date();
    await room.talkStarted(talk, startedAt);
    await room.speakerStarted(talk.id, speaker('host-1', 'Hana Host', 'hana', p.userId));
    const live = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token });
    assert.equal(live.body.recordings.length, 1);
    assert.equal(live.body.recordings[0].status, 'recording');
    const hostTrack = t.services.recordings.storage.localPath(`${p.partnerId}/${live.body.recordings[0].id}/${live.body.recordings[0].tracks[0].file_name}`);
    // The guest joins once the host's fragmented track holds over a second of audio.
    await waitFor(async () => ((await probeDuration(hostTrack)) ?? 0) > 1.5, 'the host track growing on disk');
    await room.speakerStarted(talk.id, speaker('guest-1', 'Gus Guest', 'gus'));
    await Promise.all([room.finished('host-1'), room.finished('guest-1')]);
    const sessionSeconds = (Date.now() - startedAt.getTime()) / 1000;
    await room.talkStopped(talk.id);

    const savedEvents = async () => (await eventsOf(t, 'recording_saved')).filter((e) => e.body.talk_id === talk.id);
    await waitFor(async () => (await savedEvents()).length > 0, 'recording_saved', 30_000);
    const list = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token });
    assert.equal(list.body.recordings.length, 1);
    const rec = list.body.recordings[0];
    assert.equal(rec.status, 'ready');
    assert.match(rec.file_name, /^\d{8}\.mp4$/);
    const saved = await savedEvents();
    assert.equal(saved.length, 1);
    assert.equal(saved[0].body.id, rec.id);
    assert.equal(saved[0].body.file_name, rec.file_name);
    assert.deepEqual(
      rec.tracks.map((tr: { name: string }) => tr.name),
      ['Hana Host', 'Gus Guest'],
    );
    assert.ok(rec.tracks[1].offset > 1.4 && rec.tracks[1].offset < sessionSeconds, `guest offset ${rec.tracks[1].offset}`);

    // The signed URL downloads the real file; ffprobe reads it; it lasts the session; it is not silent.
    const file = path.join(t.dataDir, `dl-${rec.id}.mp4`);
    const res = await fetch(rec.url);
    assert.equal(res.status, 200);
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const duration = await probeDuration(file);
    assert.ok(duration !== null && Math.abs(duration - sessionSeconds) < 1.0, `duration ${duration} vs session ${sessionSeconds}`);
    assert.ok(Math.abs((rec.duration as number) - (duration as number)) < 0.05);
    assert.ok((await meanVolume(file)) > -45, 'the mix is not silent');
    const unsigned = await fetch(rec.url.split('?')[0]);
    assert.equal(unsigned.status, 404, 'a private recording needs the signature');

    // Transcription job: each speaker's words come from their own track.
    const ready = await waitFor(
      async () => (await eventsOf(t, 'transcription_ready')).find((e) => e.body.recording_id === rec.id),
      'transcription_ready',
      120_000,
    );
    const transcription = ready.body.transcription;
    assert.equal(transcription.engine, 'pocketsphinx');
    const byName = (name: string) => spokenBy(transcription, name);
    const hostWer = wer(HOST_LINES.join(' '), byName('Hana Host'));
    const guestWer = wer(GUEST_LINES.join(' '), byName('Gus Guest'));
    assert.ok(
      hostWer < 0.35 && guestWer < 0.35,
      `WER host ${hostWer.toFixed(2)} (${byName('Hana Host')}) guest ${guestWer.toFixed(2)} (${byName('Gus Guest')})`,
    );
    const guestFirst = transcription.segments.find((s: { speaker: { name: string } }) => s.speaker.name === 'Gus Guest');
    assert.ok(guestFirst.start >= rec.tracks[1].offset, 'guest segments are placed at the guest offset');
    assert.equal((await eventsOf(t, 'transcription_ready')).filter((e) => e.body.recording_id === rec.id).length, 1);

    const stored = await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: p.token });
    assert.deepEqual(stored.body.recording.transcription, transcription);
    const vtt = await fetch(`${t.url}/api/v1/partners/recordings/${rec.id}/transcript.vtt`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.equal(vtt.status, 200);
    const vttText = await vtt.text();
    assert.match(vttText, /^WEBVTT\n/);
    assert.match(vttText, /<v Gus Guest>/);
    const srt = await fetch(`${t.url}/api/v1/partners/recordings/${rec.id}/transcript.srt`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.match(await srt.text(), /^1\n\d\d:\d\d:\d\d,\d{3} --> /);
    const txt = await fetch(`${t.url}/api/v1/partners/recordings/${rec.id}/transcript.txt`, { headers: { authorization: `Bearer ${p.token}` } });
    assert.match(await txt.text(), /Hana Host: /);
    const json = await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}/transcript.json`, { token: p.token });
    assert.deepEqual(json.body.transcript, transcription);

    // Another partner sees none of it.
    for (const route of ['', '/transcript.json', '/transcript.vtt', '/transcript.srt', '/transcript.txt']) {
      const res = await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}${route}`, { token: other.token });
      assert.equal(res.status, 404, route);
    }
    assert.equal((await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: other.token })).body.recordings.length, 0);
  });

  test('a talk with recording: false is not recorded', async () => {
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Off the record', recording: false } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    assert.ok(talk && talk.recording === false);
    room.voice('host-2', hostWav);
    await room.talkStarted(talk);
    await room.speakerStarted(talk.id, speaker('host-2', 'Hana Host', 'hana'));
    await room.talkStopped(talk.id);
    const list = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token });
    assert.equal(list.body.recordings.length, 0);
  });
});
