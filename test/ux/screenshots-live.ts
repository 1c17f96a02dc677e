/**
 * Takes docs/screenshots/talk-prejoin-mic.png (mic check on, who is there, recording notice),
 * talk-live.png (LIVE, Recording, a bot speaking, network), talk-share.png and talk-shortcuts.png,
 * at 1024 px and at 360 px (the -360 files), in headless Chromium (run: npx tsx test/ux/screenshots-live.ts).
 */
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { api } from '../support/api.js';
import { createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { launch } from '../support/chromium.js';
import { speechWav } from '../live/media.js';

const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
const p = await createPartner(t, 'Forest FM');
const browser = await launch(speechWav());
const speech = await decodeAudio(speechWav());
try {
  for (const [width, suffix] of [
    [1024, ''],
    [360, '-360'],
  ] as const) {
    const json = { name: 'Gardening live', description: 'Spring planting, questions welcome', room_type: 'hosted_events' };
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token;
    const host = new BotParticipant({ pageUrl: jt.join_url, audio: speech });
    await host.join();
    const { socket } = await joinRoom(talk.short_url, { name: 'Quiet Quinn' });
    const ctx = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(talk.short_url);
    const check = page.getByRole('button', { name: 'Check microphone' });
    await page.locator('#mic-select').or(check).first().waitFor();
    if (await check.isVisible()) await check.click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=mic-level]')?.getAttribute('data-level')) > 0.02, null, { timeout: 60_000 });
    await page.getByLabel('Display name').fill('Gus Guest');
    await page.screenshot({ path: `docs/screenshots/talk-prejoin-mic${suffix}.png`, fullPage: true });
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByTestId('speaking-now').filter({ hasText: 'Speaking: Hana Host' }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=network]:not([data-quality=unknown])').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `docs/screenshots/talk-live${suffix}.png`, fullPage: true });
    await page.getByRole('button', { name: 'Share' }).click();
    await page.getByRole('dialog', { name: 'Share this talk' }).waitFor();
    await page.screenshot({ path: `docs/screenshots/talk-share${suffix}.png` });
    await page.keyboard.press('Escape');
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await page.screenshot({ path: `docs/screenshots/talk-shortcuts${suffix}.png` });
    socket.close();
    await host.leave();
    await ctx.close();
  }
} finally {
  await browser.close();
  await t.close();
}
