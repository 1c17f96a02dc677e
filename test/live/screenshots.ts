/** Takes docs/screenshots/talk-prejoin.png and talk-room.png in headless Chromium (run: npx tsx test/live/screenshots.ts). */
import { chromium } from 'playwright-core';
import { api, createPartner, startApp } from '../helpers.js';
import { speechWav } from './media.js';

const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
const p = await createPartner(t, 'Acme');
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: false,
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${speechWav()}`,
    '--mute-audio',
    '--no-first-run',
  ],
});
try {
  const start = new Date(Date.now() + 3 * 3600_000).toISOString();
  const talk = (
    await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      json: {
        name: 'Rust in production: a fireside chat',
        description: 'Three teams share what broke, what held, and what they would do again.',
        room_type: 'questions',
        subscriptions_allowed: true,
        start_time: start,
      },
    })
  ).body.talk;
  const page = await browser.newPage({ viewport: { width: 420, height: 860 } });
  await page.goto(talk.short_url);
  await page.getByLabel('Display name').waitFor();
  await page.screenshot({ path: 'docs/screenshots/talk-prejoin.png', fullPage: true });
  const live = (
    await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      json: { name: 'Open questions hour', description: 'Ask the maintainers anything.', room_type: 'questions' },
    })
  ).body.talk;
  const jt = (await api(t, 'POST', `/api/v1/partners/talks/${live.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
    .join_token;
  const host = await browser.newPage({ viewport: { width: 420, height: 860 } });
  await host.goto(jt.join_url);
  await host.getByRole('button', { name: 'Join' }).click();
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(live.short_url);
  await guest.getByLabel('Display name').fill('Gus Guest');
  await guest.getByRole('button', { name: 'Join' }).click();
  await guest.getByRole('button', { name: 'Raise hand' }).click();
  await host.getByRole('button', { name: 'Bring up Gus Guest' }).waitFor();
  t.services.live?.broadcastCaption(live.id, {
    seq: 1,
    participantId: 'x',
    name: 'Hana Host',
    text: 'Welcome everyone, raise your hand to ask a question.',
    timestamp: new Date().toISOString(),
  });
  await host.getByText('Welcome everyone').waitFor();
  await host.screenshot({ path: 'docs/screenshots/talk-room.png', fullPage: true });
} finally {
  await browser.close();
  await t.close();
  process.exit(0);
}
