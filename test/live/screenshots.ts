/**
 * Takes docs/screenshots/talk-prejoin.png, talk-prejoin-themed.png and talk-room.png in headless
 * Chromium (run: npx tsx test/live/screenshots.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { api } from '../support/api.js';
import { openLiveBrowser } from './page.js';

const { t, p, browser } = await openLiveBrowser({ RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' });
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
  // A partner's theme, its logo and background served from another local origin, as a partner's CDN would.
  const images = http.createServer((req, res) => {
    res.setHeader('content-type', 'image/svg+xml');
    res.end(
      req.url === '/logo.svg'
        ? '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48"><rect rx="10" width="160" height="48" fill="#e07a5f"/><text x="80" y="31" font-family="sans-serif" font-size="20" fill="#fff" text-anchor="middle">Forest FM</text></svg>'
        : '<svg xmlns="http://www.w3.org/2000/svg" width="420" height="860"><defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#0b3d2e"/><stop offset="1" stop-color="#1b4332"/></linearGradient></defs><rect width="420" height="860" fill="url(#g)"/></svg>',
    );
  });
  await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
  const imageBase = `http://localhost:${(images.address() as AddressInfo).port}`;
  const theme = (
    await api(t, 'POST', '/api/v1/partners/themes', {
      token: p.token,
      json: {
        name: 'Forest',
        colors: { background: '#0b3d2e', text: '#f4f1de', accent: '#e07a5f', surface: '#14532d' },
        logo_url: `${imageBase}/logo.svg`,
        background_url: `${imageBase}/background.svg`,
      },
    })
  ).body.theme;
  const themed = (
    await api(t, 'POST', '/api/p/talk', {
      token: p.token,
      json: { name: 'Field notes: spring planting', description: 'Our growers on what to sow this month.', theme_id: theme.id, start_time: start },
    })
  ).body.talk;
  await page.goto(themed.short_url);
  await page.getByLabel('Display name').waitFor();
  await page.waitForFunction(() => (document.querySelector('img.logo') as HTMLImageElement | null)?.complete === true);
  await page.screenshot({ path: 'docs/screenshots/talk-prejoin-themed.png', fullPage: true });
  images.close();
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
