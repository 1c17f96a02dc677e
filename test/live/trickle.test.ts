import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { RoomSocket } from '../../src/rooms/client.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { usableCandidate } from '../../src/sfu/offer.js';
import { type IceCandidateInit, roomSocketUrl } from '../../src/rooms/protocol.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

interface Peer {
  addTransceiver(kind: string, init: { direction: string }): void;
  createOffer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  localDescription: { sdp: string };
  connectionState: string;
  onconnectionstatechange: (() => void) | null;
  onicecandidate: ((e: { candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null }) => void) | null;
  close(): void;
}
const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as { RTCPeerConnection: new (c: object) => Peer };
// wrtc's native teardown can crash a natural exit (see src/bot/participant.ts): exit explicitly.
process.once('beforeExit', () => process.exit(process.exitCode ?? 0));

/**
 * A client of the room socket (src/rooms/client.ts) with a peer of its own: joins, offers with every
 * candidate line removed from its SDP, and sends its candidates afterwards in `candidate` messages
 * (or none at all).
 */
async function joinWithoutCandidatesInOffer(shortUrl: string, trickle: boolean): Promise<{ connected: boolean; trickled: string[]; close(): void }> {
  const ws = new WebSocket(roomSocketUrl(shortUrl));
  const room = new RoomSocket(ws);
  const errors: string[] = [];
  room.on('error', (e) => errors.push(e.message));
  const joined = await room.join({ name: trickle ? 'Trickler' : 'Silent candidates' });
  assert.equal(joined.type, 'joined', JSON.stringify(joined));
  if (joined.type !== 'joined') return { connected: false, trickled: [], close: () => ws.close() };
  const pc = new wrtc.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  pc.addTransceiver('audio', { direction: 'sendonly' });
  for (let i = 0; i < Number(joined.slots); i++) pc.addTransceiver('audio', { direction: 'recvonly' });
  const early: IceCandidateInit[] = [];
  const trickled: string[] = [];
  let answered = false;
  pc.onicecandidate = (e) => {
    if (!e.candidate || !trickle) return;
    const c = { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex };
    trickled.push(c.candidate);
    // Some go before the answer, some after: the server must take both.
    if (answered || early.length > 0) room.candidate(c);
    else early.push(c);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription.sdp
    .split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:'))
    .join('\r\n');
  assert.ok(!sdp.includes('a=candidate:'), 'the offer carries no candidate');
  const answer = room.offer(sdp);
  for (const c of early) room.candidate(c);
  const answerSdp = await answer;
  answered = true;
  // An unusable candidate (TCP) and a malformed message are ignored, not fatal, and not answered.
  const tcp = 'candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active';
  room.candidate({ candidate: tcp, sdpMid: '0', sdpMLineIndex: null });
  trickled.push(tcp);
  ws.send(JSON.stringify({ type: 'candidate', candidate: 42 }));
  const pong = room.next('pong');
  room.send({ type: 'ping' });
  await pong;
  assert.deepEqual(errors, [], 'no error answered a candidate');
  const connected = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') {
        clearTimeout(timer);
        resolve(true);
      }
    };
  });
  await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
  const ok = await connected;
  return {
    connected: ok,
    trickled,
    close: () => {
      pc.close();
      ws.close();
    },
  };
}

describe('trickle ICE', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
    p = await createPartner(t, 'Trickle');
  });
  after(() => t.close());

  test('an offer without candidates connects with candidates sent after it, or with none (peer-reflexive)', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Trickle' } })).body.talk;
    const sfu = (t.services.live as LiveRooms).sfu;
    const given = async () => (await sfu.stats()).reduce((sum, w) => sum + w.candidates, 0);
    for (const trickle of [true, false]) {
      const before = await given();
      const client = await joinWithoutCandidatesInOffer(talk.short_url, trickle);
      try {
        assert.ok(client.connected, `ICE and DTLS connected (${trickle ? 'trickled candidates' : 'no candidates at all'})`);
        // Only the candidates the media engine can use cross to it (here, loopback: UDP to 127.0.0.1).
        const usable = client.trickled.filter((c) => usableCandidate(c, true));
        assert.ok(!trickle || client.trickled.length > usable.length, `some trickled candidates are of no use: ${client.trickled.join(' | ')}`);
        await waitFor(
          async () => (await given()) - before === usable.length || undefined,
          `the ${usable.length} usable of ${client.trickled.length} trickled candidates given to the media process`,
          5000,
        );
        assert.equal((await given()) - before, usable.length);
      } finally {
        client.close();
      }
    }
  });
});
