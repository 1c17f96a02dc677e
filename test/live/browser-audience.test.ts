import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { streamEncoders } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { hears, openLiveBrowser, participantIdOf } from './page.js';
import { speechWav } from './media.js';

// A hosted_events talk puts its second listener on the stream.
const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false', AUDIENCE_WEBRTC_LISTENERS: '1' };

// any: the page's diagnostics object (window.smalltalk) is untyped here
type W = any;
const streamOf = (page: Page) => page.evaluate(() => (window as W).smalltalk.stream() as { currentTime: number; fatalErrors: number; errors: string[] } | null);
const peerState = (page: Page) => page.evaluate(() => (window as W).smalltalk.peerState() as string | null);

/** Waits until the page's stream plays: its <audio> time moves on by a second, with no fatal hls.js error. */
async function streamPlays(page: Page) {
  let last: unknown = null;
  const start = await waitFor(async () => (await streamOf(page))?.currentTime || undefined, 'the stream to start playing', 30_000);
  const later = await waitFor(async () => {
    const s = await streamOf(page);
    last = s;
    return s && s.currentTime >= start + 1 ? s : undefined;
  }, 'the stream to play on for a second').catch((err) => {
    throw new Error(`${err.message}: from ${start} s, the player is now ${JSON.stringify(last)}`);
  });
  assert.equal(later.fatalErrors, 0, 'hls.js reported no fatal error');
}

describe('the talk page in the audience tier (Chromium, hls.js)', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let close: (() => Promise<void>) | undefined;
  let speech: Int16Array;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
    speech = await decodeAudio(speechWav());
  });
  after(async () => {
    for (const c of contexts.splice(0)) await c.close();
    await close?.();
  });

  const rooms = () => t.services.live as LiveRooms;
  const guestPage = async (url: string, name: string, init?: () => void) => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const page = await ctx.newPage();
    if (init) await page.addInitScript(init);
    await page.goto(url);
    await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'Leave' }).waitFor();
    return page;
  };
  const speakingHost = async (talkId: string) => {
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h' } }))
      .body.join_token;
    const host = new BotParticipant({ pageUrl: jt.join_url, audio: speech, decode: false });
    await host.join();
    host.send({ type: 'mute', muted: false });
    return host;
  };

  test('past the threshold the page plays the stream, shows the stage and the count; promoted it joins WebRTC, demoted it returns to the stream', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Town hall', room_type: 'hosted_events', recording: false } })).body.talk;
    const host = await speakingHost(talk.id);
    try {
      const first = await guestPage(talk.short_url, 'Fay First');
      await hears(first, 'the first listener to hear the host over WebRTC');
      assert.equal(await peerState(first), 'connected');
      assert.equal(await streamOf(first), null, 'the first listener is within the threshold: no stream');
      assert.equal(await first.getByTestId('stream-note').count(), 0);

      const second = await guestPage(talk.short_url, 'Sam Second');
      await second.getByTestId('stream-note').getByText('You listen through the live stream').waitFor();
      await streamPlays(second);
      assert.equal(await peerState(second), null, 'no peer connection in the audience tier');
      // The decoded stream is speech, not silence (WebAudio on the <audio> element's captured output).
      await hears(second, 'the stream listener to hear the host', 30_000);
      // The stage and the count, as everyone sees them.
      await second.getByRole('heading', { name: 'Participants (3)' }).waitFor();
      await second.locator('li', { hasText: 'Hana Host' }).getByTestId('role').getByText('host').waitFor();
      // A hand over the socket.
      await second.getByRole('button', { name: 'Raise hand' }).click();
      const secondId = (await participantIdOf(second)) as string;
      await waitFor(() => rooms().roomOf(talk.id)?.hands()[0] === secondId || undefined, 'the hand raised');

      // Promoted: WebRTC (the stream stops); the time from the host's word to a connected peer is printed.
      const asked = Date.now();
      host.send({ type: 'moderate', action: 'bring_up', target: secondId });
      await waitFor(async () => ((await peerState(second)) === 'connected' ? true : undefined), 'the promoted listener connected over WebRTC');
      const promotedMs = Date.now() - asked;
      assert.equal(await streamOf(second), null, 'the stream stopped');
      await second.getByRole('button', { name: /Unmute mic|Mute mic/ }).waitFor();
      assert.equal(await second.getByTestId('stream-note').count(), 0);
      await hears(second, 'the promoted listener to hear the host over WebRTC');
      console.log(`promoted: bring_up to a connected peer connection in ${promotedMs} ms`);

      // Demoted while the talk is past its threshold: back to the stream.
      host.send({ type: 'moderate', action: 'bring_down', target: secondId });
      await second.getByTestId('stream-note').waitFor();
      await waitFor(async () => ((await peerState(second)) === null ? true : undefined), 'the peer connection closed');
      await streamPlays(second);
    } finally {
      await host.leave();
    }
  });

  test('a listener whose WebRTC cannot connect falls back to the stream and is told so', async () => {
    // A questions room: every listener is on WebRTC whatever the threshold, so only the fallback puts one on the stream.
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Ask me', room_type: 'questions', recording: false } })).body.talk;
    const host = await speakingHost(talk.id);
    try {
      // This page gathers relay candidates only, and has no TURN server: its ICE never finds a pair (UDP to the SFU blocked, in effect).
      const blocked = await guestPage(talk.short_url, 'Blocked Bea', () => {
        const Native = window.RTCPeerConnection;
        window.RTCPeerConnection = class extends Native {
          constructor(config?: RTCConfiguration) {
            super({ ...config, iceTransportPolicy: 'relay' });
          }
        };
      });
      await blocked.getByTestId('stream-note').getByText('could not carry live audio directly').waitFor({ timeout: 30_000 });
      await streamPlays(blocked);
      await hears(blocked, 'the blocked listener to hear the host through the stream', 30_000);
      assert.equal(await peerState(blocked), null);
      const id = (await participantIdOf(blocked)) as string;
      assert.equal(rooms().roomOf(talk.id)?.participants.get(id)?.tier, 'audience', 'the server knows it listens through the stream');
    } finally {
      await host.leave();
    }
  });

  test("the stream's encoder dies: the page plays on from the stream's next run, without a fatal error", async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Restarted', room_type: 'hosted_events', recording: false } })).body.talk;
    const host = await speakingHost(talk.id);
    try {
      await guestPage(talk.short_url, 'Fay First');
      const second = await guestPage(talk.short_url, 'Sam Second');
      await second.getByTestId('stream-note').waitFor();
      await streamPlays(second);
      // The encoder is a child of the spawner beside this process (src/platform/spawner.ts).
      const encoder = streamEncoders()[0];
      assert.ok(encoder, "the stream's encoder among this process's descendants");
      process.kill(encoder, 'SIGKILL');
      // The server starts the stream again at the next request (a new epoch). Held playlist requests
      // are told to ask again (503), not that the stream ended: with an ENDLIST the player played out
      // its buffer and stopped for good.
      const killedAt = Date.now();
      await waitFor(() => streamEncoders().some((pid) => pid !== encoder), 'a new encoder', 20_000);
      await streamPlays(second);
      await hears(second, 'the host through the stream after the restart', 30_000);
      const after = await streamOf(second);
      assert.equal(after?.fatalErrors, 0, `no fatal hls.js error: ${JSON.stringify(after)}`);
      console.log(`the stream restarted; the page heard the host again ${Date.now() - killedAt} ms after the kill`, JSON.stringify(after));
    } finally {
      await host.leave();
    }
  });
});
