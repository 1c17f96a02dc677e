import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { openLiveBrowser } from '../live/page.js';
import { speechWav } from '../live/media.js';
import { classify } from '../../web/src/talk/network.js';
import { axeViolations } from './axe.js';
import { overflow } from './overflow.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30' };
const phone = { viewport: { width: 360, height: 780 } };

/**
 * Live status, the pre-join checks, share, shortcuts and network quality on the talk page, in real
 * Chromium at 360 px, with a bot (real WebRTC, Festival speech) as the speaker.
 */
describe('the talk page: live status, before joining, during', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  let speech: Int16Array;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
    speech = await decodeAudio(speechWav());
  });
  after(() => close?.());

  const createTalk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
  const hostLink = async (talkId: string, name = 'Hana Host') =>
    (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name, role: 'host', uid: 'h1' } })).body.join_token
      .join_url as string;
  const dark = { background: '#0b3d2e', text: '#f4f1de', accent: '#e07a5f', surface: '#14532d' };

  for (const themed of [false, true]) {
    test(`before joining and in the room${themed ? ', with a theme' : ''}: recording notice, who is there, mic check, LIVE, recording, speaking, counts, network; axe clean; 360 px`, async () => {
      let theme_id: string | undefined;
      if (themed) theme_id = (await api(t, 'POST', '/api/v1/partners/themes', { token: p.token, json: { name: 'Forest', colors: dark } })).body.theme.id;
      const talk = await createTalk({ name: 'Gardening live', room_type: 'hosted_events', theme_id });
      assert.equal(talk.recording, true);
      const host = new BotParticipant({ pageUrl: await hostLink(talk.id), audio: speech });
      const ctx = await browser.newContext(phone);
      let quiet: Awaited<ReturnType<typeof joinRoom>> | undefined;
      try {
        await host.join();
        const page = await ctx.newPage();
        await page.goto(talk.short_url);

        // The notice before joining: recorded, and transcribed (the default engine is on).
        assert.match((await page.getByTestId('recording-notice').textContent()) ?? '', /recorded and transcribed/);
        // Who is there, without joining: then someone else joins and the list follows.
        const here = page.getByRole('region', { name: 'In the talk now' });
        assert.equal((await page.getByTestId('present-count').textContent())?.trim(), '1 person: 1 host or speaker, 0 listeners');
        await here.getByText('Hana Host').waitFor();
        quiet = await joinRoom(talk.short_url, { name: 'Quiet Quinn' });
        await page.getByTestId('present-count').filter({ hasText: '2 people: 1 host or speaker, 1 listener' }).waitFor({ timeout: 15_000 });
        await here.getByText('Quiet Quinn').waitFor();
        assert.equal(t.services.live?.participants(talk.id).length, 2, 'looking did not join');

        // The mic check: asked for on a click (at once when the browser already allows the page the
        // microphone, as this Chromium with its fake media UI says); the picker lists the (fake)
        // microphone; the meter moves with its speech.
        const picker = page.getByLabel('Microphone', { exact: true });
        const check = page.getByRole('button', { name: 'Check microphone' });
        await picker.or(check).first().waitFor();
        if (await check.isVisible()) await check.click();
        await picker.waitFor();
        assert.ok((await picker.locator('option').count()) >= 1);
        assert.ok(((await picker.locator('option').first().textContent()) ?? '').length > 0, 'the device has a label');
        await page.waitForFunction(() => Number(document.querySelector('[data-testid=mic-level]')?.getAttribute('data-level')) > 0.02, null, {
          timeout: 15_000,
        });
        const hear = page.getByRole('button', { name: 'Hear yourself' });
        await hear.click();
        assert.equal(await hear.getAttribute('aria-pressed'), 'true');
        await page.getByLabel('Display name').fill('Gus Guest');
        assert.deepEqual(await axeViolations(page), [], 'axe, before joining, mic check on');
        assert.deepEqual(await overflow(page), [], 'nothing overflows at 360 px before joining');

        await page.getByRole('button', { name: 'Join' }).click();
        await page.getByRole('button', { name: 'Leave' }).waitFor();
        // LIVE and Recording, counts of speakers vs listeners.
        await page.getByTestId('live-badge').filter({ hasText: 'LIVE' }).waitFor();
        assert.equal((await page.getByTestId('recording-badge').textContent())?.trim(), 'Recording');
        assert.equal((await page.getByTestId('counts').textContent())?.trim(), '1 speaker · 2 listeners');
        // The themed run checks what the theme changes (colors: axe, layout); the rest once.
        if (!themed) {
          // The bot speaks: the page shows it as speaking, from the SFU's levels.
          await page.getByTestId('speaking-now').filter({ hasText: 'Speaking: Hana Host' }).waitFor({ timeout: 20_000 });
          await page.locator('[data-participant].speaking', { hasText: 'Hana Host' }).first().waitFor();
          assert.equal(await page.locator('[data-participant].speaking', { hasText: 'Quiet Quinn' }).count(), 0, 'a silent listener is not speaking');
          // The network: measured (on localhost, but on a loaded machine jitter can make it fair), and
          // the word shown is what its own figures give.
          const network = page.locator('[data-testid=network]:not([data-quality=unknown])');
          await network.waitFor({ timeout: 30_000 });
          // Both read at once: the indicator updates every two seconds.
          const shown = await page.getByTestId('network').evaluate((el) => ({ figures: el.textContent ?? '', quality: el.getAttribute('data-quality') }));
          const figures = shown.figures;
          const [, rtt, loss, jitter] = figures.match(/round trip (\d+) ms(?:, loss ([\d.]+) %)?(?:, jitter (\d+) ms)?/) ?? [];
          assert.ok(rtt, `a round trip is shown (${figures})`);
          const quality = classify({
            rttMs: Number(rtt),
            loss: loss === undefined ? null : Number(loss) / 100,
            jitterMs: jitter === undefined ? null : Number(jitter),
          });
          assert.equal(shown.quality, quality, figures);
          // Someone is brought on stage: the counts follow.
          host.send({ type: 'moderate', action: 'bring_up', target: quiet.participantId });
          await page.getByTestId('counts').filter({ hasText: '2 speakers · 1 listener' }).waitFor();
        }
        assert.deepEqual(await axeViolations(page), [], 'axe, in the room');
        assert.deepEqual(await overflow(page), [], 'nothing overflows at 360 px in the room');
        await page.getByRole('button', { name: 'Share' }).click();
        await page.getByRole('dialog', { name: 'Share this talk' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], 'axe, share dialog open');
        assert.deepEqual(await overflow(page), [], 'nothing overflows at 360 px with the share dialog');
      } finally {
        quiet?.socket.close();
        await host.leave();
        await ctx.close();
      }
    });
  }
});
