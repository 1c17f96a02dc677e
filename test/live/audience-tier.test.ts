import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { RoomTierMessage } from '../../src/rooms/protocol.js';
import { type Received, Receiver } from '../webhooks/receiver.js';
import { type TestApp, type TestPartner, api, createPartner, startApp, waitFor } from '../helpers.js';
import { member } from './member.js';

/** The audience tier over the real room socket: who is put on the stream, told so, and moved on promotion. */
describe('the audience tier: listeners of a hosted_events talk past AUDIENCE_WEBRTC_LISTENERS', () => {
  let t: TestApp;
  let p: TestPartner;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false', AUDIENCE_WEBRTC_LISTENERS: '1' } });
    p = await createPartner(t, 'Tiers');
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });
  const createTalk = async (json: Record<string, unknown>) =>
    (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { recording: false, ...json } })).body.talk;
  const join = async (shortUrl: string, message: Record<string, unknown>) => {
    const m = await member(shortUrl, message);
    sockets.push(m.socket);
    return m;
  };
  const hostToken = async (talkId: string) => {
    const url = (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token.join_url as string;
    return new URLSearchParams(new URL(url).hash.slice(1)).get('token') as string;
  };
  const joinedOf = (m: { messages: Record<string, unknown>[] }) => m.messages.find((x) => x.type === 'joined') as Record<string, unknown>;
  /** The next `tier` message this member gets after `from` messages. */
  const nextTier = (m: Awaited<ReturnType<typeof join>>, from: number) =>
    waitFor(() => m.inbox.messages.slice(from).find((x) => x.type === 'tier') as RoomTierMessage | undefined, 'a tier message');

  test('the listener past the threshold gets the stream, is counted and emits talk_join; offers are refused; promotion and demotion move them', async () => {
    const receiver = await new Receiver().start();
    try {
      await api(t, 'POST', '/api/v1/partners/webhooks', { token: p.token, json: { url: `${receiver.url}/hook`, events: ['talk_join'] } });
      const talk = await createTalk({ name: 'Town hall', room_type: 'hosted_events' });
      const host = await join(talk.short_url, { token: await hostToken(talk.id) });
      assert.equal(joinedOf(host).tier, 'webrtc', 'hosts are on WebRTC');
      const first = await join(talk.short_url, { name: 'Fay First' });
      assert.equal(joinedOf(first).tier, 'webrtc', 'the first listener is within the threshold');
      const second = await join(talk.short_url, { name: 'Sam Second' });
      const joined = joinedOf(second);
      assert.equal(joined.tier, 'audience', 'one listener is on WebRTC already: the second is on the stream');
      const live = (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0];
      assert.equal(joined.hls_url, new URL(live.hls_url).pathname, 'the stream the talk JSON gives partners, as a path on this server');
      assert.equal((await fetch(new URL(joined.hls_url as string, t.url))).status, 200, 'the stream plays from this server');

      // Counted and listed like everyone; talk_join for each of the three.
      await host.sees((r) => r.participants.length === 3, 'the host to see all three');
      await second.sees((r) => r.participants.some((x) => x.id === host.participantId) && r.participants.length === 3, 'the audience member to see the room');
      await receiver.until((r: Received[]) => r.filter((x) => x.json.event_name === 'talk_join').length >= 3, 'three talk_join');
      assert.ok(receiver.received.some((x) => x.json.event_name === 'talk_join' && x.json.body.name === 'Sam Second'));

      // No peer connection for the stream's listener; a hand goes up over the socket.
      const refused = await second.refused({ type: 'offer', sdp: 'v=0\r\n' });
      assert.equal(refused.code, 'not_allowed');
      second.send({ type: 'hand', raised: true });
      await host.sees((r) => r.hands[0] === second.participantId, 'the raised hand');

      // Brought up: to WebRTC (an offer is taken then); brought down while past the threshold: back to the stream.
      let from = second.inbox.messages.length;
      host.send({ type: 'moderate', action: 'bring_up', target: second.participantId });
      assert.deepEqual(await nextTier(second, from), { type: 'tier', tier: 'webrtc', hls_url: joined.hls_url });
      from = second.inbox.messages.length;
      host.send({ type: 'moderate', action: 'bring_down', target: second.participantId });
      assert.deepEqual(await nextTier(second, from), { type: 'tier', tier: 'audience', hls_url: joined.hls_url });
      assert.equal((await second.refused({ type: 'offer', sdp: 'v=0\r\n' })).code, 'not_allowed');

      // A listener whose WebRTC failed asks for the stream; a host may not (they speak).
      from = first.inbox.messages.length;
      first.send({ type: 'listen_by_stream' });
      assert.equal((await nextTier(first, from)).tier, 'audience');
      assert.equal((await host.refused({ type: 'listen_by_stream' })).code, 'not_allowed');
      // Now nobody listens over WebRTC: brought up and down, the first listener is back on WebRTC (under the threshold).
      host.send({ type: 'moderate', action: 'bring_up', target: first.participantId });
      await first.sees((r) => r.participants.find((x) => x.id === first.participantId)?.can_speak, 'on stage');
      from = first.inbox.messages.length;
      host.send({ type: 'moderate', action: 'bring_down', target: first.participantId });
      await first.sees((r) => !r.participants.find((x) => x.id === first.participantId)?.can_speak, 'off stage');
      await host.sees((r) => r.participants.length === 3, 'still three');
      const told = first.inbox.messages.slice(from).filter((x) => x.type === 'tier');
      assert.deepEqual(told, [], 'on WebRTC since brought up, and it stays there: nothing to tell');
    } finally {
      await receiver.close();
    }
  });

  test('other room types keep everyone on WebRTC whatever the threshold', async () => {
    const talk = await createTalk({ name: 'Open floor', room_type: 'questions' });
    const a = await join(talk.short_url, { name: 'Ann' });
    const b = await join(talk.short_url, { name: 'Ben' });
    const c = await join(talk.short_url, { name: 'Cid' });
    assert.deepEqual(
      [a, b, c].map((m) => joinedOf(m).tier),
      ['webrtc', 'webrtc', 'webrtc'],
    );
  });
});
