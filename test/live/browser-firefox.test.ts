import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser as ChromiumBrowser } from 'playwright-core';
import type { Browser, Page } from 'puppeteer-core';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { firefoxMissing, joinAsGuest, lanAddress, launchFirefox, pageWaits } from '../support/firefox.js';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { hears, openLiveBrowser } from './page.js';
import { speechWav } from './media.js';

// A hosted_events talk puts its second listener on the stream (the audience tier).
const liveEnv = { RTC_LISTEN_IP: lanAddress(), SFU_WORKERS: '2', AUDIENCE_WEBRTC_LISTENERS: '1' };
// any: the page's diagnostics object (window.smalltalk) is untyped here
type W = any;

/**
 * The talk page in Firefox against our SFU, on whichever engine SFU_ENGINE names (scripts/test.sh
 * runs this file on both). Firefox's offer is not Chromium's: Opus on payload type 109, a
 * direction on one header extension (`extmap:2/recvonly`), other extension ids, G722 and
 * telephone-event beside Opus. The host is Chromium speaking Festival speech (or a bot); the guest is
 * Firefox with its fake microphone (a tone). In the audience tier Firefox plays the LL-HLS stream with
 * hls.js (Media Source Extensions, AAC in fMP4).
 */
describe('the talk page in Firefox', { skip: firefoxMissing() }, () => {
  let t: TestApp;
  let p: TestPartner;
  let chromium: ChromiumBrowser;
  let firefox: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser: chromium, close } = await openLiveBrowser(liveEnv));
    firefox = await launchFirefox();
  });
  after(async () => {
    await firefox?.close();
    await close?.();
  });

  /** A Firefox page that opened `url` and joined as `name`; `errors` collects its uncaught errors. */
  /** What Firefox received, summed over its inbound RTP streams: packets, packets lost, and the loudest stream's level. */
  const received = (page: Page) =>
    page.evaluate(async () => {
      const report = await (window as W).smalltalk?.client.stats();
      const sum = { packets: 0, lost: 0, level: 0 };
      report?.forEach((s: { type: string; packetsReceived?: number; packetsLost?: number; audioLevel?: number }) => {
        if (s.type !== 'inbound-rtp') return;
        sum.packets += s.packetsReceived ?? 0;
        sum.lost += s.packetsLost ?? 0;
        sum.level = Math.max(sum.level, s.audioLevel ?? 0);
      });
      return sum;
    });

  test('a Firefox guest joins, hears the Chromium host, and the host hears it', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Fox and friends' } })).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } }))
      .body.join_token;
    const hostCtx = await chromium.newContext();
    const guestCtx = await firefox.createBrowserContext();
    try {
      const host = await hostCtx.newPage();
      await host.goto(jt.join_url);
      await host.getByRole('button', { name: 'Join' }).click();
      await host.getByRole('button', { name: 'Mute mic' }).waitFor();

      const { page: guest, errors } = await joinAsGuest(guestCtx, talk.short_url, 'Fiona Fox');
      await guest.locator('nav.toolbar button.mic-on').wait();
      await pageWaits(guest, () => (window as W).smalltalk?.peerState() === 'connected', "Firefox's peer connection to connect");
      // Firefox hears the host's speech: the level of the audio it decoded, from its own statistics.
      // (The page's analyser reads 0 here: headless Firefox without a sound device never runs an
      // AudioContext, it stays "suspended"; the <audio> elements play all the same.)
      const first = await received(guest);
      await waitFor(async () => (await received(guest)).level > 0.02, 'Firefox to hear the host', 20_000);
      const later = await received(guest);
      // Packets keep arriving, and hardly any are lost (of this test's checks, the count of lost packets is
      // the one a loaded machine can move without anything being wrong).
      assert.ok(
        later.packets > first.packets && later.lost <= later.packets / 100,
        `packets keep arriving in Firefox, at most 1% lost: ${JSON.stringify(later)}`,
      );
      // The host hears Firefox's tone, and sees the guest by name.
      await hears(host, 'the Chromium host to hear the Firefox guest');
      await host.getByText('Fiona Fox', { exact: true }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await hostCtx.close();
      await guestCtx.close();
    }
  });

  test('in the audience tier Firefox plays the stream with hls.js; brought on stage it joins over WebRTC, brought down it returns to the stream', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Fox town hall', room_type: 'hosted_events', recording: false } })).body
      .talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h' } }))
      .body.join_token;
    const host = new BotParticipant({ pageUrl: jt.join_url, audio: await decodeAudio(speechWav()), decode: false });
    const first = new BotParticipant({ pageUrl: talk.short_url, name: 'Fay First', decode: false });
    const ctx = await firefox.createBrowserContext();
    try {
      await host.join();
      host.send({ type: 'mute', muted: false });
      await first.join();
      const { page, errors } = await joinAsGuest(ctx, talk.short_url, 'Sam Second');
      await page.locator('[data-testid=stream-note]').wait();
      const streamTime = () => page.evaluate(() => (window as W).smalltalk.stream()?.currentTime ?? null);
      // Plays: the <audio> time moves on by a second, with no fatal hls.js error and no peer connection.
      const start = await waitFor(async () => (await streamTime()) || undefined, 'Firefox to start playing the stream', 30_000);
      await waitFor(async () => ((await streamTime()) ?? 0) >= start + 1, 'the stream to play on for a second', 15_000);
      const stream = await page.evaluate(() => (window as W).smalltalk.stream());
      assert.equal(stream.fatalErrors, 0, `hls.js in Firefox: ${JSON.stringify(stream)}`);
      assert.equal(await page.evaluate(() => (window as W).smalltalk.peerState()), null, 'no peer connection in the audience tier');

      // Brought on stage: WebRTC, and it hears the host.
      const id = await page.evaluate(() => (window as W).smalltalk.client.participantId as string);
      host.send({ type: 'moderate', action: 'bring_up', target: id });
      await pageWaits(page, () => (window as W).smalltalk.peerState() === 'connected', 'the promoted Firefox listener to connect over WebRTC');
      assert.equal(await page.evaluate(() => (window as W).smalltalk.stream()), null, 'the stream stopped');
      await waitFor(async () => (await received(page)).level > 0.02, 'the promoted Firefox listener to hear the host', 20_000);

      // Brought down: back on the stream, the peer closed.
      host.send({ type: 'moderate', action: 'bring_down', target: id });
      await page.locator('[data-testid=stream-note]').wait();
      await pageWaits(page, () => (window as W).smalltalk.peerState() === null, 'the peer connection to close');
      const again = await waitFor(async () => (await streamTime()) || undefined, 'Firefox to play the stream again', 30_000);
      await waitFor(async () => ((await streamTime()) ?? 0) >= again + 1, 'the stream to play on again', 15_000);
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
      await Promise.all([host.leave(), first.leave()]);
    }
  });
});
