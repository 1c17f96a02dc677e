import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { RoomSocket } from '../../src/rooms/client.js';
import { type ServerMessage, roomSocketUrl } from '../../src/rooms/protocol.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { speechWav } from './media.js';
import { waitFor } from '../support/wait.js';

const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as {
  RTCPeerConnection: new (
    c: object,
  ) => {
    addTransceiver(kind: string, init: { direction: string }): void;
    createOffer(): Promise<{ type: string; sdp: string }>;
    close(): void;
  };
};
// wrtc's native teardown can crash a natural exit (see src/bot/participant.ts): exit explicitly.
process.once('beforeExit', () => process.exit(process.exitCode ?? 0));

/**
 * A client that joins and offers, then never connects: its offer has no candidates and it sends no
 * ICE checks. Resolves with its socket once the offer is sent, and the answer (or the room's error)
 * when it comes; that rejects if the socket closes first.
 */
async function offerAndVanish(shortUrl: string): Promise<{ ws: WebSocket; offeredAt: number; answer: Promise<{ at: number; message: ServerMessage }> }> {
  const ws = new WebSocket(roomSocketUrl(shortUrl));
  const room = new RoomSocket(ws);
  const joined = await room.join({ name: 'Vanishing' });
  assert.equal(joined.type, 'joined');
  if (joined.type !== 'joined') throw new Error('redirected');
  const pc = new wrtc.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  pc.addTransceiver('audio', { direction: 'sendonly' });
  for (let i = 0; i < Number(joined.slots); i++) pc.addTransceiver('audio', { direction: 'recvonly' });
  const offer = await pc.createOffer();
  pc.close();
  const answer = room.next(['answer', 'error'], 300_000);
  room.send({
    type: 'offer',
    sdp: offer.sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate:'))
      .join('\r\n'),
  });
  const answered = answer.then((message) => ({ at: Date.now(), message }));
  // A test that never waits for it (the talk ended, the socket closed): not an unhandled rejection.
  answered.catch(() => undefined);
  return { ws, offeredAt: Date.now(), answer: answered };
}

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
      // The worker's own record of the four joins: each connected and was answered after its turn;
      // each offer that arrived while an earlier one still held the turn (not yet connected) waited
      // for that connection. Which offers overlap depends on the engine's speed (on datachannel a join
      // can connect before the next bot has made its offer), but at least one must have.
      const joins = (await (t.services.live as LiveRooms).sfu.stats())
        .flatMap((w) => w.joins)
        .slice(-4)
        .sort((a, b) => a.arrivedAt - b.arrivedAt);
      assert.equal(joins.length, 4, 'the host and three listeners');
      assert.ok(
        joins.every((j) => j.connectedMs !== null && j.answerMs >= j.turnMs),
        `each connected, answered after its turn: ${JSON.stringify(joins)}`,
      );
      let overlapped = 0;
      for (let i = 1; i < joins.length; i++) {
        const prev = joins[i - 1];
        const next = joins[i];
        const prevConnectedAt = prev.arrivedAt + (prev.connectedMs ?? 0);
        if (next.arrivedAt >= prevConnectedAt) continue;
        overlapped++;
        // 2 ms of slack: each figure is rounded to the millisecond.
        assert.ok(
          next.arrivedAt + next.turnMs + 2 >= prevConnectedAt,
          `join ${i + 1} arrived before join ${i} connected and did not wait for it: ${JSON.stringify(joins)}`,
        );
      }
      assert.ok(overlapped >= 1, `at least one offer arrived while another held the turn: ${JSON.stringify(joins)}`);
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

  test('an answer carries the id of the offer it answers: a client that offered again takes the answer to its latest offer', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Offered twice' } })).body.talk;
    const ws = new WebSocket(roomSocketUrl(talk.short_url));
    const room = new RoomSocket(ws);
    try {
      const joined = await room.join({ name: 'Twice' });
      if (joined.type !== 'joined') throw new Error('redirected');
      // The first offer as the page made it before it knew its slots (mic only); the second with them.
      const offerWith = async (slots: number) => {
        const pc = new wrtc.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
        pc.addTransceiver('audio', { direction: 'sendonly' });
        for (let i = 0; i < slots; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
        const offer = await pc.createOffer();
        pc.close();
        return offer.sdp;
      };
      const mLines = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('m=')).length;
      assert.ok(Number(joined.slots) > 0, 'the room has receive slots');
      const answers: { id?: number; sdp: string }[] = [];
      room.onMessage((m) => {
        if (m.type === 'answer') answers.push(m);
      });
      room.send({ type: 'offer', sdp: await offerWith(0), id: 41 });
      const latest = await room.offer(await offerWith(Number(joined.slots)));
      assert.equal(mLines(latest), 1 + Number(joined.slots), 'RoomSocket.offer resolved with the answer to its own offer');
      await waitFor(() => answers.length === 2, 'both answers');
      const first = answers.find((a) => a.id === 41);
      assert.ok(first, `the first answer names its offer: ${answers.map((a) => a.id)}`);
      assert.equal(mLines(first.sdp), 1);
      assert.ok(
        answers.some((a) => a.id !== 41 && a.sdp === latest),
        'the second answer carries the id RoomSocket.offer gave its offer',
      );
    } finally {
      ws.close();
    }
  });

  test('a peer that never connects gives its turn back after half a second', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Stuck', room_type: 'hosted_events' } })).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Host', role: 'host' } })).body
      .join_token;
    const host = new BotParticipant({ pageUrl: jt.join_url, audio: speech });
    const listener = new BotParticipant({ pageUrl: talk.short_url, name: 'Patient' });
    let stuck: WebSocket | null = null;
    try {
      await host.join();
      const vanishing = await offerAndVanish(talk.short_url);
      stuck = vanishing.ws;
      const vanished = await vanishing.answer;
      assert.equal(vanished.message.type, 'answer', JSON.stringify(vanished.message));
      await listener.join();
      const answeredAt = (listener.report.startedAtMs ?? 0) + (listener.report.phases.answered ?? 0);
      // The stuck peer's turn began after its offer was sent and lasts 500 ms (measured from its
      // answer instead, this failed once on a loaded machine: that answer itself took a while).
      assert.ok(answeredAt - vanishing.offeredAt >= 480, `the next answer waited for the turn (${answeredAt - vanishing.offeredAt} ms after the stuck offer)`);
      assert.ok(answeredAt - vanished.at < 2000, `and got it within about half a second (${answeredAt - vanished.at} ms)`);
      await listener.untilLoudFrames(10);
    } finally {
      stuck?.close();
      await Promise.all([host.leave(), listener.leave()]);
    }
  });
  test('an offer still waiting for its turn when the talk ends is dropped: no peer is left behind', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Ends while waiting' } })).body.talk;
    const live = t.services.live as LiveRooms;
    const first = await offerAndVanish(talk.short_url);
    const second = await offerAndVanish(talk.short_url);
    try {
      // The first holds the only turn for up to 500 ms; the second waits behind it.
      assert.equal((await first.answer).message.type, 'answer');
      const ended = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
      assert.equal(ended.status, 200);
      // The second offer's turn comes once the first's is over; it must not open a peer for a
      // participant of a closed talk. (A peer is added as its negotiation starts, before the worker
      // answers anything else: once no offer waits, any peer it opened is counted.)
      await waitFor(async () => (await live.sfu.stats()).every((w) => w.waitingOffers === 0), 'the waiting offer to have had its turn', 10_000);
      const peers = (await live.sfu.stats()).reduce((a, w) => a + w.peers, 0);
      assert.equal(peers, 0, 'no peer is left on the worker');
    } finally {
      first.ws.close();
      second.ws.close();
    }
  });
});
