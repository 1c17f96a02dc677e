import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runSwarm } from '../../src/bot/loadtest.js';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { smalltalkOk } from '../support/cli.js';
import { speechWav } from './media.js';

/**
 * A participant whose WebRTC stack is libdatachannel (native apps; the load test's light listeners,
 * src/bot/dc-listeners.ts) hears the room. libdatachannel routes incoming RTP by SSRC only, so the
 * datachannel engine names the slots' SSRCs in the answer to such a client (before, it received
 * nothing). The werift engine does not connect to such a client at all (ICE never completed in a
 * try, not investigated): this test forces datachannel.
 */
describe('a libdatachannel client', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_ENGINE: 'datachannel' } });
    p = await createPartner(t, 'Acme');
  });
  after(() => t.close());

  test('hears a speaker through the SFU: every packet, none lost', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Native clients', recording: false } })).body.talk;
    const speaker = new BotParticipant({ pageUrl: talk.short_url, name: 'Speaker', audio: await decodeAudio(speechWav()) });
    try {
      await speaker.join();
      const reports = await runSwarm(talk.short_url, 2, 4, { datachannel: true, spacingMs: 50 });
      assert.equal(reports.length, 2);
      for (const r of reports) {
        assert.equal(r.error, null);
        assert.equal(r.tier, 'webrtc');
        assert.ok(r.joinMs !== null && r.joinMs > 0, `a first packet (${r.joinMs} ms): ${JSON.stringify(r.phases)}`);
        // 4 s of a speaker sending every 20 ms, after the join.
        assert.ok(r.packetsReceived >= 150, `packets received: ${r.packetsReceived}`);
        assert.ok(r.packetsLost <= r.packetsReceived / 100, `packets lost: ${r.packetsLost} of ${r.packetsReceived}`);
      }
    } finally {
      await speaker.leave();
    }
  });

  test('smalltalk loadtest --light datachannel: five decoding bots, the rest libdatachannel listeners, all receiving', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Light load', recording: false } })).body.talk;
    const { stdout } = await smalltalkOk(
      [
        'loadtest',
        talk.short_url,
        '--speakers',
        '1',
        '--listeners',
        '8',
        '--seconds',
        '3',
        '--play',
        speechWav(),
        '--processes',
        '2',
        '--light',
        'datachannel',
        '--json',
      ],
      { compiled: true, env: { LOG_LEVEL: 'silent' }, timeoutMs: 120_000 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop() as string);
    assert.deepEqual(r.errors, []);
    assert.equal(r.listeners, 8);
    assert.equal(r.fractionReceiving, 1, JSON.stringify(r));
    assert.ok(r.loss <= 0.01, JSON.stringify(r));
  });
});
