import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { type TestApp, type TestPartner, api, createPartner, startApp } from '../helpers.js';
import { speechWav } from './media.js';

describe('SFU_NEGOTIATIONS', () => {
  let t: TestApp;
  let p: TestPartner;
  let speech: Int16Array;
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', SFU_NEGOTIATIONS: '1' } });
    p = await createPartner(t, 'Acme');
    speech = await decodeAudio(speechWav());
  });
  after(() => t.close());

  test('with one negotiation at a time, joins arriving together are answered one after the other and all hear the speaker', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'One at a time', room_type: 'hosted_events' } })).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Host', role: 'host' } })).body
      .join_token;
    const host = new BotParticipant({ pageUrl: jt.join_url, audio: speech });
    const listeners = [1, 2, 3].map((i) => new BotParticipant({ pageUrl: talk.short_url, name: `Listener ${i}` }));
    try {
      await host.join();
      await Promise.all(listeners.map((l) => l.join()));
      // Each turn is given back when its peer connects: all three get audio.
      await Promise.all(listeners.map((l) => l.untilLoudFrames(10)));
      const at = (b: BotParticipant, phase: string) => (b.report.startedAtMs ?? 0) + (b.report.phases[phase] ?? Number.NaN);
      const byAnswer = [...listeners].sort((a, b) => at(a, 'answered') - at(b, 'answered'));
      for (let i = 1; i < byAnswer.length; i++) {
        // The next answer leaves the SFU once the previous peer is connected there, a moment before
        // that client sees it (20 ms of slack for the clocks of two peers in one process).
        assert.ok(
          at(byAnswer[i], 'answered') + 20 >= at(byAnswer[i - 1], 'connected'),
          `answer ${i + 1} came at ${at(byAnswer[i], 'answered')}, before join ${i} connected at ${at(byAnswer[i - 1], 'connected')}`,
        );
      }
    } finally {
      await Promise.all([host.leave(), ...listeners.map((l) => l.leave())]);
    }
  });
});
