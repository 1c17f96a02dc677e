import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BotParticipant } from '../../src/bot/participant.js';
import { probeDuration } from '../../src/platform/media.js';
import { botVoice, maxVolume } from '../recording/media.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { descendantsWith } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** The datachannel engine's media process of the app in this test process (src/sfu/dc-worker.ts). */
const mediaProcesses = () => descendantsWith('dc-worker');
const until = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the datachannel media process dies in a live talk', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({
      env: { SFU_ENGINE: 'datachannel', RTC_LISTEN_IP: '127.0.0.1', TRANSCRIBE_ENGINE: 'none', LIVE_CAPTIONS: 'false' },
    });
    p = await createPartner(t, 'Acme');
  });
  after(() => t?.close());

  test('SIGKILL of the media process: the server stays up, a new one starts, both bots negotiate again and hear, and the recording goes on', async () => {
    const audio = await botVoice(['Welcome back to the evening garden hour.', 'Tonight we plant beans along the fence.'], 0.5, 'restart');
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Garden hour' } })).body.talk;
    const link = async (name: string, role: string) =>
      (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name, role, uid: name } })).body.join_token.join_url;
    const host = new BotParticipant({ pageUrl: await link('Hana Host', 'host'), audio });
    const guest = new BotParticipant({ pageUrl: await link('Gus Guest', 'listener') });
    let killedAt = 0;
    let backAt = 0;
    try {
      await host.join();
      host.send({ type: 'mute', muted: false });
      await guest.join();
      assert.ok(await guest.untilLoudFrames(50), 'the guest hears the host before the crash');
      await until(3_000);

      const [first] = mediaProcesses();
      assert.ok(first, 'the media runs in a child process');
      process.kill(first, 'SIGKILL');
      killedAt = Date.now();
      // A new media process, and both bots told to negotiate again (a `tier` message), which they do.
      const second = await waitFor(() => mediaProcesses().find((pid) => pid !== first), 'a new media process', 10_000);
      await waitFor(() => host.report.mediaRestarts >= 1 && guest.report.mediaRestarts >= 1, 'both bots to negotiate again', 10_000);
      await waitFor(() => host.peerState() === 'connected' && guest.peerState() === 'connected', 'both peers connected again', 10_000);
      backAt = Date.now();
      assert.deepEqual(mediaProcesses(), [second], 'one media process, the new one');
      assert.equal(host.report.mediaRestarts, 1);
      assert.equal(guest.report.mediaRestarts, 1);
      console.log(`media restart: new process ${second} and both peers connected ${backAt - killedAt} ms after the kill`);
      const loud = guest.report.loudFrames;
      assert.ok(await guest.untilLoudFrames(loud + 50), 'the guest hears the host again');
      assert.equal(host.report.error, null);
      assert.equal(guest.report.error, null);
      // The HTTP side never went away.
      assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${talk.id}`, { token: p.token })).status, 200);
      await until(5_000);
    } finally {
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
      await Promise.all([host.leave(), guest.leave()]);
    }
    const endedAt = Date.now();
    const rec = await waitFor(
      async () => {
        const res = await api(t, 'GET', `/api/v1/partners/recordings?talk_id=${talk.id}`, { token: p.token });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const [r] = res.body.recordings;
        return r?.status === 'ready' ? r : null;
      },
      'the recording saved',
      60_000,
    );
    const file = path.join(t.dataDir, `restart-${rec.id}.mp4`);
    await writeFile(file, Buffer.from(await (await fetch(rec.url)).arrayBuffer()));
    const at = (ms: number) => (ms - new Date(rec.start_time).getTime()) / 1000;
    const before = await maxVolume(file, at(killedAt) - 3, at(killedAt) - 0.3);
    const afterward = await maxVolume(file, at(backAt) + 0.5, at(endedAt) - 0.5);
    console.log(
      `media restart: recording loudest before the kill ${before} dB, after the new peers ${afterward} dB; kill at ${at(killedAt).toFixed(1)} s, back at ${at(backAt).toFixed(1)} s, end at ${at(endedAt).toFixed(1)} s; tracks ${JSON.stringify(rec.tracks.map((x: { name: string; offset: number; duration?: number }) => [x.name, x.offset, x.duration]))}`,
    );
    const hostTracks = rec.tracks.filter((x: { name: string }) => x.name === 'Hana Host');
    assert.equal(hostTracks.length, 1, 'the host has one track: its capture read one stream through the restart');
    const hostTrack = hostTracks[0];
    const trackFile = path.join(t.dataDir, `restart-${rec.id}.m4a`);
    await writeFile(trackFile, Buffer.from(await (await fetch(hostTrack.url)).arrayBuffer()));
    console.log(
      `media restart: host track ${await probeDuration(trackFile)} s at ${hostTrack.offset}; loudest after the new peers ${await maxVolume(trackFile, at(backAt) + 0.5 - hostTrack.offset, at(endedAt) - 0.5 - hostTrack.offset)} dB`,
    );
    assert.ok(before > -30, `speech before the kill is recorded (${before} dB)`);
    assert.ok(afterward > -30, `speech after the restart is recorded (${afterward} dB)`);
  });
});
