/**
 * Takes docs/screenshots/home.png, talk-confirm-remove.png, talk-removed.png and
 * talk-removed-list.png in headless Chromium at phone width (run: npx tsx test/ux/screenshots.ts).
 */
import { api } from '../support/api.js';
import { startApp, createPartner } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { launch } from '../support/chromium.js';
import { speechWav } from '../live/media.js';

const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', HOME_PUBLIC_TALKS: 'true' } });
const p = await createPartner(t, 'Forest FM');
const browser = await launch(speechWav());
try {
  const talk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
  const start = new Date(Date.now() + 2 * 86400_000);
  start.setUTCHours(17, 0, 0, 0);
  await talk({ name: 'Weekly garden hour', start_time: start.toISOString(), schedule: 'FREQ=WEEKLY;COUNT=8' });
  const live = await talk({ name: 'Morning show' });
  const { socket } = await joinRoom(live.short_url, { name: 'Early Bird' });
  const past = await talk({ name: 'Spring planting, live' });
  await api(t, 'POST', `/api/v1/partners/talks/${past.id}/end`, { token: p.token });
  const view = { viewport: { width: 390, height: 844 } };
  const home = await browser.newPage(view);
  await home.goto(`${t.url}/`);
  await home.screenshot({ path: 'docs/screenshots/home.png', fullPage: true });

  const room = await talk({ name: 'Open questions hour', room_type: 'questions' });
  const jt = (await api(t, 'POST', `/api/v1/partners/talks/${room.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
    .join_token;
  const host = await (await browser.newContext(view)).newPage();
  await host.goto(jt.join_url);
  await host.getByRole('button', { name: 'Join' }).click();
  const guest = await (await browser.newContext(view)).newPage();
  await guest.goto(room.short_url);
  await guest.getByLabel('Display name').fill('Rowdy Rex');
  await guest.getByRole('button', { name: 'Join' }).click();
  await host.getByRole('button', { name: 'Remove Rowdy Rex' }).click();
  await host.getByRole('dialog').waitFor();
  await host.screenshot({ path: 'docs/screenshots/talk-confirm-remove.png' });
  await host.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await guest.getByTestId('removed').waitFor();
  await guest.screenshot({ path: 'docs/screenshots/talk-removed.png' });
  await host.getByRole('region', { name: 'Removed from this talk' }).waitFor();
  await host.screenshot({ path: 'docs/screenshots/talk-removed-list.png', fullPage: true });
  socket.close();
} finally {
  await browser.close();
  await t.close();
}
