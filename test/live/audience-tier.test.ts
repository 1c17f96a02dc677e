import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import type { RoomTierMessage } from '../../src/rooms/protocol.js';
import { stageUpdateDelay } from '../../src/rooms/updates.js';
import { type Received, Receiver } from '../webhooks/receiver.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from './media.js';
import { member } from './member.js';

/** The audience tier over the real room socket: who is put on the stream, told so, and moved on promotion. */
describe('the audience tier: listeners of a hosted_events talk past AUDIENCE_WEBRTC_LISTENERS', () => {
  let t: TestApp;
  let p: TestPartner;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({
      env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false', AUDIENCE_WEBRTC_LISTENERS: '1', GUEST_JOINS_PER_MINUTE: '0' },
    });
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
      assert.equal(joinedOf(host).hls_url, null, "a WebRTC participant is not given the stream's URL");
      assert.equal(joinedOf(first).hls_url, null);
      const second = await join(talk.short_url, { name: 'Sam Second' });
      const joined = joinedOf(second);
      assert.equal(joined.tier, 'audience', 'one listener is on WebRTC already: the second is on the stream');
      const live = (await api(t, 'GET', `/api/v1/partners/talks?talk_id=${talk.id}`, { token: p.token })).body.talks[0];
      assert.equal(joined.hls_url, new URL(live.hls_url).pathname, 'the stream the talk JSON gives partners, as a path on this server');
      assert.equal((await fetch(new URL(joined.hls_url as string, t.url))).status, 200, 'the stream plays from this server');

      // Counted and listed like everyone; talk_join for each of the three.
      await host.sees((r) => r.participants.length === 3, 'the host to see all three');
      // The audience tier sees the stage (the host) and the counts.
      await second.sees(
        (r) => r.counts.participants === 3 && r.participants.map((x) => x.id).join() === host.participantId,
        'the audience member to see the stage and the count',
      );
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
      // On WebRTC the stream's URL is not given (its key is the stream's only access check).
      assert.deepEqual(await nextTier(second, from), { type: 'tier', tier: 'webrtc', hls_url: null });
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

  test('a bot follows its tier: on the stream it holds no peer; brought up it negotiates and is heard; brought down it drops its peer', async () => {
    const talk = await createTalk({ name: 'Bots on tiers', room_type: 'hosted_events' });
    const hostUrl = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token.join_url as string;
    const host = new BotParticipant({ pageUrl: hostUrl, name: 'Hana Host' });
    const first = new BotParticipant({ pageUrl: talk.short_url, name: 'Fay First', decode: false });
    const second = new BotParticipant({ pageUrl: talk.short_url, name: 'Sam Second', audio: await decodeAudio(speechWav()) });
    try {
      await host.join();
      await first.join();
      await second.join();
      assert.deepEqual(
        [host.report.tier, first.report.tier, second.report.tier],
        ['webrtc', 'webrtc', 'audience'],
        'the second listener is past the threshold',
      );
      assert.equal(second.peerState(), null, 'no peer connection on the stream');
      const seen = (id: string | null, canSpeak: boolean) => host.state?.participants.some((x) => x.id === id && x.can_speak === canSpeak) === true;

      host.send({ type: 'moderate', action: 'bring_up', target: second.report.participantId as string });
      await waitFor(() => seen(second.report.participantId, true) && second.peerState() === 'connected', 'the promoted bot connected over WebRTC');
      assert.equal(second.report.tier, 'webrtc');
      assert.ok(await host.untilLoudFrames(25), 'the host hears the promoted bot');

      host.send({ type: 'moderate', action: 'bring_down', target: second.report.participantId as string });
      await waitFor(() => second.report.tier === 'audience' && second.peerState() === null, 'the bot back on the stream, its peer closed');
      assert.equal(second.report.tierMoves, 2);
      assert.equal(second.report.error, null);
      assert.equal(first.report.tier, 'webrtc', 'the other listener stayed on WebRTC');
    } finally {
      await Promise.all([host, first, second].map((b) => b.leave()));
    }
  });

  test('a decoding bot on the stream plays it and hears the host; brought up, it stops the stream', async () => {
    const talk = await createTalk({ name: 'A bot on the stream', room_type: 'hosted_events' });
    const hostUrl = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token.join_url as string;
    const host = new BotParticipant({ pageUrl: hostUrl, name: 'Hana Host', audio: await decodeAudio(speechWav()) });
    const first = new BotParticipant({ pageUrl: talk.short_url, name: 'Fay First', decode: false });
    const streamed = new BotParticipant({ pageUrl: talk.short_url, name: 'Ann Audience' });
    try {
      await host.join();
      await first.join();
      await streamed.join();
      assert.equal(streamed.report.tier, 'audience');
      assert.equal(streamed.peerState(), null, 'no peer connection on the stream');
      const player = streamed.streamPlayerPid();
      assert.ok(player, 'an ffmpeg plays the stream');
      // ffmpeg reads whole 2-s segments: the first comes a few seconds after the stream starts.
      assert.ok(
        await streamed.untilLoudFrames(50, 30_000),
        `the bot on the stream heard the host (${streamed.report.loudFrames} loud frames of ${streamed.report.frames})`,
      );
      host.send({ type: 'moderate', action: 'bring_up', target: streamed.report.participantId as string });
      await waitFor(() => streamed.report.tier === 'webrtc' && streamed.peerState() === 'connected', 'the promoted bot connected over WebRTC');
      const gone = () => {
        try {
          process.kill(player as number, 0);
          return false;
        } catch {
          return true;
        }
      };
      await waitFor(() => gone(), 'the ffmpeg playing the stream to end');
      assert.equal(streamed.streamPlayerPid(), null);
      const framesAt = streamed.report.frames;
      assert.ok(await streamed.untilLoudFrames(streamed.report.loudFrames + 25), 'it hears the host over WebRTC');
      assert.ok(streamed.report.frames > framesAt);
      assert.equal(streamed.report.error, null);
    } finally {
      await Promise.all([host, first, streamed].map((b) => b.leave()));
    }
  });

  test('other room types keep everyone on WebRTC whatever the threshold; a talk edited to one moves its audience to WebRTC', async () => {
    const talk = await createTalk({ name: 'Open floor', room_type: 'questions' });
    const a = await join(talk.short_url, { name: 'Ann' });
    const b = await join(talk.short_url, { name: 'Ben' });
    const c = await join(talk.short_url, { name: 'Cid' });
    assert.deepEqual(
      [a, b, c].map((m) => joinedOf(m).tier),
      ['webrtc', 'webrtc', 'webrtc'],
    );
    const events = await createTalk({ name: 'Panel', room_type: 'hosted_events' });
    await join(events.short_url, { name: 'Dee' });
    const eve = await join(events.short_url, { name: 'Eve' });
    assert.equal(joinedOf(eve).tier, 'audience');
    const from = eve.inbox.messages.length;
    const edited = await api(t, 'PATCH', `/api/v1/partners/talks/${events.id}`, { token: p.token, json: { room_type: 'questions' } });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    assert.equal((await nextTier(eve, from)).tier, 'webrtc');
    await waitFor(() => eve.inbox.messages.slice(from).some((m) => m.type === 'state' && m.participants.length === 2) || undefined, 'the whole room, afresh');
  });

  test("a talk's own webrtc_listener_limit overrides the server's: 2 lets two listeners on WebRTC, 0 none", async () => {
    const roomy = await createTalk({ name: 'Small panel', room_type: 'hosted_events', webrtc_listener_limit: 2 });
    const ones = [await join(roomy.short_url, { name: 'Una' }), await join(roomy.short_url, { name: 'Vic' }), await join(roomy.short_url, { name: 'Wyn' })];
    assert.deepEqual(
      ones.map((m) => joinedOf(m).tier),
      ['webrtc', 'webrtc', 'audience'],
    );
    const streamed = await createTalk({ name: 'Broadcast', room_type: 'hosted_events', webrtc_listener_limit: 0 });
    assert.equal(joinedOf(await join(streamed.short_url, { name: 'Xan' })).tier, 'audience', 'with 0, every listener is on the stream');
    // Raised while live: the listener on the stream moves to WebRTC.
    const last = ones[2];
    const from = last.inbox.messages.length;
    const raised = await api(t, 'PATCH', `/api/v1/partners/talks/${roomy.id}`, { token: p.token, json: { webrtc_listener_limit: 3 } });
    assert.equal(raised.status, 200, JSON.stringify(raised.body));
    assert.equal((await nextTier(last, from)).tier, 'webrtc');
  });

  test("a hosted event's audience, on the stream or on WebRTC, gets the stage and the counts, batched; its hosts get everyone", async () => {
    const talk = await createTalk({ name: 'Keynote', room_type: 'hosted_events' });
    const host = await join(talk.short_url, { token: await hostToken(talk.id) });
    const peer = await join(talk.short_url, { name: 'Wes WebRTC' });
    assert.equal(joinedOf(peer).tier, 'webrtc');
    const N = 200;
    const started = Date.now();
    // joinRoom's `messages`: everything the socket got, from `joined` on.
    // `since`: when it joined, and how many sockets were shown the stage then (the WebRTC listener and the crowd so far).
    const crowd: { socket: WebSocket; messages: Record<string, any>[]; participantId: string; since: number; viewers: number }[] = [];
    for (let i = 0; i < N; i += 25) {
      const since = Date.now();
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, N - i) }, async (_, k) => {
          const m = await joinRoom(talk.short_url, { name: `Listener ${i + k}` });
          sockets.push(m.socket);
          return { socket: m.socket, messages: m.messages, participantId: m.participantId, since, viewers: i + 1 };
        }),
      );
      crowd.push(...batch);
    }
    const everyone = N + 2;
    await host.sees((r) => r.counts.participants === everyone && r.participants.length === everyone, 'the host to see everyone');
    const lastCounts = (messages: Record<string, any>[]) => messages.reduce((n, m) => (m.type === 'state' || m.counts ? (m.counts?.participants ?? n) : n), 0);
    await waitFor(() => crowd.every((c) => lastCounts(c.messages) === everyone) || undefined, 'every audience socket to count everyone');
    await peer.sees((r) => r.counts.participants === everyone, 'the listener on WebRTC to count everyone');
    const elapsed = Date.now() - started;

    // Each audience socket: its state listed the stage only (the host), all small, and its updates came
    // no more often than the stage's cadence for the sockets there were when it joined (stageUpdateDelay:
    // 50 ms per 100 sockets shown the stage, at most 500 ms; the room only grew after).
    const end = Date.now();
    let most = 0;
    let tightest = { updates: 0, allowed: 0, every: 0 };
    let bytes = 0;
    for (const c of [...crowd, { messages: peer.messages, since: started, viewers: 1 }]) {
      const messages = c.messages.filter((m) => m.type === 'state' || m.type === 'update');
      const state = messages.find((m) => m.type === 'state');
      assert.deepEqual(
        state?.participants.map((x: { id: string }) => x.id),
        [host.participantId],
        'the stage: the host',
      );
      const updates = messages.filter((m) => m.type === 'update').length;
      const every = stageUpdateDelay(c.viewers);
      const allowed = Math.ceil((end - c.since) / every) + 2;
      assert.ok(updates <= allowed, `at most one update per ${every} ms: ${updates} in ${end - c.since} ms`);
      if (updates / allowed > tightest.updates / (tightest.allowed || 1)) tightest = { updates, allowed, every };
      for (const m of messages) {
        const size = JSON.stringify(m).length;
        most = Math.max(most, size);
        bytes += size;
      }
    }
    assert.equal(
      crowd.filter((c) => c.messages.some((m) => m.type === 'joined' && m.tier === 'audience')).length,
      N,
      'all past the first listener on the stream',
    );
    assert.ok(most < 1_500, `the largest state or update an audience socket got: ${most} bytes`);
    // The host, who moderates the room, was sent every participant who joined.
    const hostBytes = host.messages.filter((m) => m.type === 'state' || m.type === 'update').reduce((n, m) => n + JSON.stringify(m).length, 0);
    const peerBytes = peer.messages.filter((m) => m.type === 'state' || m.type === 'update').reduce((n, m) => n + JSON.stringify(m).length, 0);
    console.log(
      `${N} audience sockets joined in ${elapsed} ms: the closest to its cadence got ${tightest.updates} updates of ${tightest.allowed} allowed at ${tightest.every} ms, ${Math.round(bytes / (N + 1))} bytes of room state on average (largest message ${most} B); the WebRTC listener got ${peerBytes} bytes, the host ${hostBytes}`,
    );
    const listed = new Set(peer.messages.flatMap((m) => (m.type === 'state' || m.type === 'update' ? m.participants.map((x: { id: string }) => x.id) : [])));
    assert.deepEqual([...listed], [host.participantId], 'the WebRTC listener was sent the stage (the host) and the counts, not the crowd');
    assert.ok(hostBytes > N * 100, 'the host was sent every participant who joined');

    // A raised hand joins the stage for everyone on the stream (and leaves it when lowered).
    const raiser = crowd[7];
    const sees = (c: (typeof crowd)[number], inStage: boolean) =>
      c.messages.some(
        (m) =>
          m.type === 'update' && (inStage ? m.participants.some((x: { id: string }) => x.id === raiser.participantId) : m.left.includes(raiser.participantId)),
      );
    raiser.socket.send(JSON.stringify({ type: 'hand', raised: true }));
    await waitFor(() => crowd.every((c) => sees(c, true)) || undefined, 'every audience socket to see the raised hand on the stage');
    raiser.socket.send(JSON.stringify({ type: 'hand', raised: false }));
    await waitFor(() => crowd.every((c) => sees(c, false)) || undefined, 'and see it go');
  });
});
