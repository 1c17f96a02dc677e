import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { encode } from 'uqr';
import { BotParticipant } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { launch } from '../support/chromium.js';
import { openLiveBrowser } from '../live/page.js';
import { speechWav } from '../live/media.js';
import { axeViolations } from './axe.js';
import { overflow } from './overflow.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30' };
const phone = { viewport: { width: 360, height: 780 } };

/** In the room: keyboard shortcuts, share with copy and QR, and a blocked microphone, in real Chromium at 360 px. */
describe('the talk page: shortcuts, share, a blocked microphone', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
  });
  after(() => close?.());

  const createTalk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
  const hostLink = async (talkId: string, name = 'Hana Host') =>
    (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name, role: 'host', uid: 'h1' } })).body.join_token
      .join_url as string;

  test('shortcuts: M mutes and unmutes, H raises and lowers the hand, ? lists them; not while typing; each said to screen readers', async () => {
    const talk = await createTalk({ name: 'Keys', room_type: 'hosted_events', mic_behavior: 'start_on' });
    const host = new BotParticipant({ pageUrl: await hostLink(talk.id) });
    const ctx = await browser.newContext(phone);
    try {
      await host.join();
      const page = await ctx.newPage();
      await page.goto(talk.short_url);
      await page.getByLabel('Display name').fill('Kim Keys');
      await page.getByRole('button', { name: 'Join' }).click();
      await page.getByRole('button', { name: 'Raise hand' }).waitFor();
      const said = page.getByTestId('shortcut-announcer');
      assert.equal(await page.getByRole('button', { name: 'Raise hand' }).getAttribute('aria-keyshortcuts'), 'H');
      // A listener's M says what to do instead.
      await page.keyboard.press('m');
      await said.filter({ hasText: 'You cannot speak yet: press H to raise your hand.' }).waitFor();
      await page.keyboard.press('h');
      await page.getByRole('button', { name: 'Lower hand' }).waitFor();
      await said.filter({ hasText: 'Raising your hand' }).waitFor();
      assert.deepEqual(host.state?.hands.length, 1, 'the server has the hand raised');
      // Typing an H in a field is text, not a shortcut (the field stands for any a feature adds: question, chat).
      await page.evaluate(() => {
        const input = Object.assign(document.createElement('input'), { id: 'typing-test', ariaLabel: 'Typing test' });
        document.querySelector('main')?.append(input);
      });
      await page.locator('#typing-test').pressSequentially('hm');
      assert.equal(await page.locator('#typing-test').inputValue(), 'hm');
      await page.getByRole('button', { name: 'Lower hand' }).waitFor();
      await page.locator('#typing-test').blur();
      await page.keyboard.press('h');
      await page.getByRole('button', { name: 'Raise hand' }).waitFor();
      await said.filter({ hasText: 'Lowering your hand' }).waitFor();

      // On stage: M toggles the mic, and the server hears it.
      const me = (await page.evaluate(
        () => (window as unknown as { smalltalk: { client: { participantId: string } } }).smalltalk.client.participantId,
      )) as string;
      host.send({ type: 'moderate', action: 'bring_up', target: me });
      const mute = page.getByRole('button', { name: 'Mute mic' });
      await mute.waitFor();
      assert.equal(await mute.getAttribute('aria-keyshortcuts'), 'M');
      await page.keyboard.press('m');
      await page.getByRole('button', { name: 'Unmute mic' }).waitFor();
      await said.filter({ hasText: 'Muting your microphone' }).waitFor();
      assert.equal(t.services.live?.participants(talk.id).length, 2);
      await page.keyboard.press('M');
      await page.getByRole('button', { name: 'Mute mic' }).waitFor();
      await page.keyboard.press('h');
      await said.filter({ hasText: 'You can already speak' }).waitFor();
      // Ctrl+M is the browser's, not ours.
      await page.keyboard.press('Control+m');
      await page.getByRole('button', { name: 'Mute mic' }).waitFor();

      // ? lists them; while it is open, M does nothing; Escape closes it.
      await page.keyboard.press('?');
      const list = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
      await list.waitFor();
      assert.match((await list.textContent()) ?? '', /M\s*Mute or unmute your microphone/);
      await page.keyboard.press('m');
      assert.equal(await page.getByRole('button', { name: 'Mute mic' }).count(), 1, 'no shortcut behind a dialog');
      assert.deepEqual(await axeViolations(page), [], 'axe, shortcuts listed');
      await page.keyboard.press('Escape');
      await list.waitFor({ state: 'hidden' });
    } finally {
      await host.leave();
      await ctx.close();
    }
  });

  test('share: the short URL copies to the clipboard, and the QR code drawn inline encodes it', async () => {
    const talk = await createTalk({ name: 'Tell your friends' });
    const ctx = await browser.newContext(phone);
    try {
      await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(talk.short_url).origin });
      const page = await ctx.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(talk.short_url);
      await page.getByRole('button', { name: 'Share' }).click();
      const dialog = page.getByRole('dialog', { name: 'Share this talk' });
      assert.equal(await dialog.getByLabel('Short link').inputValue(), talk.short_url);
      await dialog.getByRole('button', { name: 'Copy link' }).click();
      await dialog.getByTestId('share-status').filter({ hasText: 'Link copied.' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), talk.short_url);
      // The QR code: an inline SVG whose dark modules are exactly those of the short URL's QR code.
      const qr = dialog.getByRole('img', { name: `QR code for ${talk.short_url}` });
      const drawn = await qr.evaluate((svg) => ({
        viewBox: svg.getAttribute('viewBox'),
        dark: [...(svg.querySelector('path')?.getAttribute('d') ?? '').matchAll(/M(\d+) (\d+)/g)].map((m) => `${m[1]},${m[2]}`),
      }));
      const expected = encode(talk.short_url, { ecc: 'M', border: 2 });
      assert.equal(drawn.viewBox, `0 0 ${expected.size} ${expected.size}`);
      const dark = expected.data.flatMap((row, y) => row.flatMap((on, x) => (on ? [`${x},${y}`] : [])));
      assert.deepEqual(drawn.dark, dark);
      assert.ok(
        requests.every((u) => u.startsWith(new URL(talk.short_url).origin)),
        'nothing fetched from elsewhere',
      );
      assert.deepEqual(await overflow(page), []);
    } finally {
      await ctx.close();
    }
  });

  test('a blocked microphone: the page says so and how to allow it in this browser (Chromium), and joining still works to listen', async () => {
    // A Chromium that denies permission requests instead of granting them (no fake UI).
    const denying = await launch(speechWav(), { denyMicrophone: true });
    const talk = await createTalk({ name: 'No mic here' });
    try {
      const page = await (await denying.newContext(phone)).newPage();
      await page.goto(talk.short_url);
      await page.getByRole('button', { name: 'Check microphone' }).click();
      const alert = page.getByTestId('mic-blocked');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-browser'), 'chromium');
      assert.match((await alert.textContent()) ?? '', /blocks the microphone.*address bar.*Set Microphone to "Allow".*Reload this page/s);
      assert.equal(await alert.getAttribute('role'), 'alert');
      assert.deepEqual(await axeViolations(page), [], 'axe, mic blocked');
      assert.deepEqual(await overflow(page), []);
      await page.getByLabel('Display name').fill('Lou Listener');
      await page.getByRole('button', { name: 'Join' }).click();
      await page.getByRole('button', { name: 'Leave' }).waitFor();
    } finally {
      await denying.close();
    }
  });
});
