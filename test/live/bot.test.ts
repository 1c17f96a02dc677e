import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { smalltalkOk } from '../support/cli.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from './media.js';

/** The `smalltalk` command as an operator runs it (bin/smalltalk.js), on this machine. */
const smalltalk = (args: string[]) => smalltalkOk(args, { compiled: true, env: { LOG_LEVEL: 'silent' }, timeoutMs: 120_000 });

export const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '2', RECONNECT_GRACE_SECONDS: '5' };

describe('live audio between command-line participants', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  let speech: Int16Array;
  before(async () => {
    t = await startApp({ env: liveEnv });
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
    speech = await decodeAudio(speechWav());
  });
  after(() => t.close());

  test('a host with a join token and a guest hear each other through the SFU', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Bots' } })).body.talk;
    const jt = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { uid: 'u-1', name: 'Hana Host', role: 'host' } });
    assert.equal(jt.status, 200);
    assert.match(jt.body.join_token.join_url, /#token=/);
    const denied = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: other.token, json: { name: 'X', role: 'host' } });
    assert.equal(denied.status, 404);

    const host = new BotParticipant({ pageUrl: jt.body.join_token.join_url, audio: speech });
    const guest = new BotParticipant({ pageUrl: talk.short_url, name: 'Gus Guest', audio: speech });
    const silent = new BotParticipant({ pageUrl: talk.short_url, name: 'Quiet Listener' });
    try {
      await host.join();
      await guest.join();
      await silent.join();
      // Wait for audio to arrive (an event: the first loud frame), not a fixed delay.
      await Promise.all([silent.untilLoudFrames(51), guest.untilLoudFrames(51), host.untilLoudFrames(51)]);
      assert.ok(silent.report.loudFrames > 50, `the listener received speech (${silent.report.loudFrames} loud frames)`);
      assert.ok(guest.report.loudFrames > 50, `the guest heard the host (${guest.report.loudFrames})`);
      assert.ok(host.report.loudFrames > 50, `the host heard the guest (${host.report.loudFrames})`);
      assert.equal(host.report.role, 'host');
      assert.equal(guest.report.role, 'listener');
      const inRoom = t.services.live?.participants(talk.id) ?? [];
      assert.equal(inRoom.length, 3);
    } finally {
      await Promise.all([host.leave(), guest.leave(), silent.leave()]);
    }
  });

  test('the smalltalk bot join and loadtest commands join for real and report what they heard', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Commands' } })).body.talk;
    const speaker = new BotParticipant({ pageUrl: talk.short_url, name: 'Speaker', audio: speech });
    let hlsUrl = '';
    try {
      await speaker.join();
      hlsUrl = await waitFor(
        async () => (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0].hls_url,
        'hls_url',
      );
      const bot = JSON.parse((await smalltalk(['bot', 'join', talk.short_url, '--name', 'CLI Listener', '--seconds', '4', '--json'])).stdout);
      assert.equal(bot.role, 'listener');
      assert.ok(bot.joinMs > 0, `a join time (${bot.joinMs})`);
      assert.ok(bot.loudFrames > 50, `the CLI bot heard the speaker (${bot.loudFrames} loud frames)`);
    } finally {
      await speaker.leave();
    }

    const { stdout } = await smalltalk([
      'loadtest',
      talk.short_url,
      '--speakers',
      '1',
      '--listeners',
      '4',
      '--seconds',
      '3',
      '--play',
      speechWav(),
      '--processes',
      '2',
      '--server-pid',
      String(process.pid),
      '--stream-url',
      hlsUrl,
      '--stream-listeners',
      '6',
      '--json',
    ]);
    const r = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.deepEqual(r.errors, []);
    assert.equal(r.listeners, 4);
    assert.equal(r.fractionReceiving, 1, JSON.stringify(r));
    assert.ok(r.joinP50 > 0 && r.joinP99 >= r.joinP50, `join p50 ${r.joinP50}, p99 ${r.joinP99}`);
    assert.ok(r.serverCpu > 0, `the server's CPU (${r.serverCpu})`);
    // The stream's light LL-HLS listeners followed the live edge (the stream starts at their first
    // request, so its first part takes a moment), with no errors.
    assert.equal(r.stream.listeners, 6);
    assert.equal(r.stream.errors, 0, JSON.stringify(r.stream));
    assert.ok(r.stream.parts >= 6, `the stream listeners fetched parts: ${JSON.stringify(r.stream)}`);
  });
});
