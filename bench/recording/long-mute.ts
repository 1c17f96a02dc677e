// A speaker who mutes for a long time (5 minutes by default): too long for CI, so a bench run by hand.
// The set-up of test/recording/gaps.test.ts (real app, real SFU, the wrtc bot speaking Festival
// sentences in a loop, webhooks to a local receiver): speak until a caption comes and 4 s more, mute
// for --mute seconds, unmute, speak until a caption comes and 3 s more, end the talk. Prints the
// recording's loudest sample before, during and after the mute, the captions after the unmute, the
// transcript's segments after it, and talk end -> transcription_ready as a fraction of the talk.
// Usage: npx tsx bench/recording/long-mute.ts [--mute SECONDS]
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { probeDuration, run } from '../../src/platform/media.js';
import { api } from '../../test/support/api.js';
import { createPartner, startApp } from '../../test/support/app.js';
import { maxVolume, speech, withPauses } from '../../test/recording/media.js';
import { Receiver } from '../../test/webhooks/receiver.js';

const LINES = [
  'Good evening and thank you all for coming tonight.',
  'We will talk about the river and the old bridge.',
  'Please raise your hand if you have a question.',
];
const i = process.argv.indexOf('--mute');
const MUTE_SECONDS = i > 0 ? Number(process.argv[i + 1]) : 300;
const until = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

async function voice(): Promise<Int16Array> {
  const spoken = await withPauses(await Promise.all(LINES.map(speech)), 0.8, path.join(os.tmpdir(), `st-longmute-${process.pid}.wav`));
  const out = path.join(os.tmpdir(), `st-longmute-${process.pid}-48k.wav`);
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', spoken, '-ar', '48000', '-ac', '1', out]);
  return decodeAudio(out);
}

async function main() {
  console.log(`long mute: ${MUTE_SECONDS} s; load average at start ${load()} (${os.cpus().length} cores)`);
  const receiver = new Receiver();
  await receiver.start();
  const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '5' } });
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures.push(what);
  };
  try {
    const p = await createPartner(t, 'Acme');
    await api(t, 'POST', '/api/v1/partners/webhooks', {
      token: p.token,
      json: { url: `${receiver.url}/hook`, events: ['recording_saved', 'transcription_ready', 'next_caption'] },
    });
    const audio = await voice();
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'River evening' } })).body.talk;
    const joinUrl = (
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h' } })
    ).body.join_token.join_url;
    const host = new BotParticipant({ pageUrl: joinUrl, audio, decode: false });
    const events = (name: string) => receiver.received.filter((r) => r.json.event_name === name && (r.json.body.talkId ?? r.json.body.talk_id) === talk.id);
    let mutedAt = 0;
    let unmutedAt = 0;
    let endedAt = 0;
    try {
      await host.join();
      host.send({ type: 'mute', muted: false });
      await receiver.until(() => events('next_caption').length >= 1, 'a caption before the mute', 120_000);
      await until(4_000);
      host.send({ type: 'mute', muted: true });
      mutedAt = Date.now();
      console.log(`muted; load average ${load()}`);
      await until(MUTE_SECONDS * 1000);
      host.send({ type: 'mute', muted: false });
      unmutedAt = Date.now();
      console.log(`unmuted; load average ${load()}`);
      await receiver.until(() => events('next_caption').some((e) => e.at > unmutedAt + 500), 'a caption after the unmute', 120_000);
      const first = events('next_caption').find((e) => e.at > unmutedAt + 500);
      console.log(`first caption after the unmute: ${((first?.at ?? 0) - unmutedAt) / 1000} s after it: "${first?.json.body.message}"`);
      await until(3_000);
    } finally {
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
      endedAt = Date.now();
      await host.leave();
    }
    await receiver.until(() => events('recording_saved').length > 0, 'recording_saved', 180_000);
    const saved = events('recording_saved');
    check(saved.length === 1, `one recording_saved (got ${saved.length})`);
    const rec = (await api(t, 'GET', `/api/v1/partners/recordings/${saved[0].json.body.id}`, { token: p.token })).body.recording;
    check(rec.status === 'ready' && rec.tracks.length === 1, `recording ready with one track (${rec.status}, ${rec.tracks.length} tracks)`);
    const file = path.join(t.dataDir, `longmute-${rec.id}.mp4`);
    await writeFile(file, Buffer.from(await (await fetch(rec.url)).arrayBuffer()));
    const start = new Date(rec.start_time).getTime();
    const at = (ms: number) => (ms - start) / 1000;
    const duration = (await probeDuration(file)) ?? 0;
    check(Math.abs(duration - at(endedAt)) < 2, `the mp4 lasts ${duration.toFixed(1)} s, the talk ${at(endedAt).toFixed(1)} s`);
    const before = await maxVolume(file, at(mutedAt) - 4, at(mutedAt) - 0.5);
    const during = await maxVolume(file, at(mutedAt) + 1.5, at(unmutedAt) - 1);
    const afterUnmute = await maxVolume(file, at(unmutedAt) + 1.5, at(endedAt) - 0.5);
    check(before > -30, `speech before the mute: loudest ${before} dB`);
    check(during < -60, `silence during the ${MUTE_SECONDS}-s mute: loudest ${during} dB`);
    check(afterUnmute > -30, `speech after the unmute: loudest ${afterUnmute} dB`);
    const after = events('next_caption').filter((e) => e.at > unmutedAt + 500);
    check(after.length > 0, `captions after the unmute: ${after.map((e) => `"${e.json.body.message}"`).join(', ')}`);
    await receiver.until(() => events('transcription_ready').length > 0, 'transcription_ready', 900_000);
    const readyAt = events('transcription_ready')[0].at;
    const talkSeconds = (endedAt - start) / 1000;
    console.log(
      `talk ${talkSeconds.toFixed(1)} s; talk end -> transcription_ready ${((readyAt - endedAt) / 1000).toFixed(1)} s = ${((readyAt - endedAt) / 1000 / talkSeconds).toFixed(3)} x the talk`,
    );
    const segments = (events('transcription_ready')[0].json.body.transcription as { segments: { start: number; text: string }[] }).segments;
    const later = segments.filter((s) => s.start > at(unmutedAt) - 0.5 && s.text.trim());
    check(later.length > 0, `transcript after the unmute: ${later.map((s) => `${s.start.toFixed(1)} "${s.text}"`).join(', ')}`);
    const inMute = segments.filter((s) => s.start > at(mutedAt) + 1.5 && s.start < at(unmutedAt) - 1);
    check(inMute.length === 0, `no transcript segment inside the mute (${inMute.length})`);
    console.log(`load average at the end ${load()}`);
  } finally {
    await t.close();
    await receiver.close();
  }
  if (failures.length) {
    console.log(`${failures.length} check(s) failed`);
    process.exitCode = 1;
  }
}

await main();
