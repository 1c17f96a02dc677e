/**
 * Screenshots of each dashboard page into docs/dashboard/, taken in Debian's Chromium against
 * a throwaway app on in-memory PGlite. Run: npx tsx scripts/screenshots-dashboard.ts
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { WebSocket } from 'ws';
import { startApp } from '../test/support/app.js';
import { ensureWebBuilt, launchChromium } from '../test/support/chromium.js';
import { Receiver } from '../test/webhooks/receiver.js';

const out = path.resolve('docs/dashboard');
ensureWebBuilt();
const t = await startApp({ background: false });
// The queue and webhook worker (test deliveries) and the SFU (people in a room); not the recorder.
for (const job of t.services.background) if (['queue', 'webhook-delivery', 'sfu'].includes(job.name)) await job.start();
const receiver = await new Receiver().start();
const sockets: WebSocket[] = [];
/** Someone in a talk's room, joined over its real WebSocket. */
const joinRoom = (shortUrl: string, message: Record<string, string>) =>
  new Promise<void>((resolve, reject) => {
    const code = new URL(shortUrl).pathname.split('/').pop();
    const socket = new WebSocket(`${t.url.replace('http', 'ws')}/t/${code}/ws`);
    sockets.push(socket);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'join', ...message })));
    socket.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.type === 'joined') resolve();
      if (msg.type === 'error') reject(new Error(msg.message));
    });
  });
const { context, userDataDir } = await launchChromium(t.url, { width: 1280, height: 860 });
try {
  const page = await context.newPage();
  const shot = async (name: string) => {
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
  };
  await page.goto('/dashboard/signup');
  await page.getByLabel('Your name').fill('Nora Partner');
  await page.getByLabel('Email').fill('nora@example.test');
  await shot('01-sign-up');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.waitForURL('**/orgs/new');
  await page.getByLabel('Organization name').fill('Nora Talks');
  await shot('02-create-organization');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL('**/settings');
  const partnerId = (await page.getByTestId('partner-id').textContent()) ?? '';
  await page.getByLabel('Token name').fill('production');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.getByTestId('new-token').waitFor();
  await page.getByRole('button', { name: 'Create invite link' }).click();
  await page.getByTestId('invite-link').waitFor();
  await shot('03-settings-tokens-members');
  const p = { partner: partnerId };
  const call = (method: string, url: string, body: unknown) =>
    page.evaluate(
      async ([m, u, b, pid]) => {
        const csrf = document.cookie.match(/st_csrf=([^;]+)/)?.[1] ?? '';
        const r = await fetch(u as string, { method: m as string, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, 'x-partner-id': pid as string }, body: JSON.stringify(b) });
        return r.json();
      },
      [method, url, body, p.partner],
    );
  const theme = await call('POST', '/api/v1/partners/themes', { name: 'Brand', colors: { background: '#101820', accent: '#fee715', text: '#ffffff', surface: '#1f2a36' } });
  for (const [name, start] of [
    ['Launch party', '2030-05-04T18:30:00Z'],
    ['Weekly product Q&A', '2030-05-07T16:00:00Z'],
    ['Office hours', null],
  ] as const) {
    await call('POST', '/api/p/talk', { name, start_time: start, room_type: 'hosted_events', theme_id: theme.theme.id, description: 'Come and ask.', subscriptions_allowed: true });
  }
  await page.goto(`/dashboard/o/${partnerId}/talks`);
  await page.getByRole('link', { name: 'Office hours' }).waitFor();
  await shot('04-talks');
  await page.getByRole('link', { name: 'New talk' }).click();
  await page.getByLabel('Name').fill('Design review');
  await shot('05-talk-new');
  const launch = (await page.evaluate(async (pid) => (await fetch('/api/v1/partners/talks?q=launch', { headers: { 'x-partner-id': pid } })).json(), partnerId))
    .talks[0];
  const host = await call('POST', `/api/v1/partners/talks/${launch.id}/join_tokens`, { name: 'Nora Partner', role: 'host' });
  await joinRoom(launch.short_url, { token: host.join_token.join_url.split('#token=')[1] });
  await joinRoom(launch.short_url, { name: 'Sam Guest' });
  await call('POST', `/api/v1/partners/talks/${launch.id}/invites`, { max_uses: 10 });
  await page.evaluate(
    async (u) => fetch(u, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'fan@example.test', name: 'Fan' }) }),
    `${launch.short_url}/subscribe`,
  );
  await page.goto(`/dashboard/o/${partnerId}/talks`);
  await page.getByRole('link', { name: 'Launch party' }).click();
  await page.locator('.qr svg').waitFor();
  await page.locator('[data-participant="Sam Guest"]').waitFor();
  await page.locator('[data-subscriber="fan@example.test"]').waitFor();
  await page.getByRole('button', { name: 'Join as host' }).click();
  await page.getByTestId('join-url').waitFor();
  await shot('06-talk-detail');
  await page.getByRole('button', { name: 'Edit talk' }).click();
  await page.getByRole('button', { name: 'Save talk' }).waitFor();
  await shot('06b-talk-edit');
  await call('POST', '/api/v1/partners/groups', { name: 'Season one' });
  await call('POST', '/api/v1/partners/groups', { name: 'Season two', visible: false });
  await page.goto(`/dashboard/o/${partnerId}/groups`);
  await page.locator('[data-group="Season two"]').waitFor();
  await shot('07-groups');
  await page.goto(`/dashboard/o/${partnerId}/themes`);
  await page.locator('[data-theme="Brand"]').waitFor();
  await shot('08-themes');
  await page.getByRole('link', { name: 'Brand' }).click();
  await page.getByTestId('theme-preview').waitFor();
  await shot('09-theme-editor');
  const talks = await page.evaluate(async (pid) => (await fetch('/api/v1/partners/talks', { headers: { 'x-partner-id': pid } })).json(), partnerId);
  const talkId = talks.talks.find((x: { name: string }) => x.name === 'Launch party').id;
  await t.services.recordings.repo.insert(t.services.db.db, partnerId, {
    talk_id: talkId,
    status: 'ready',
    file_name: 'launch-party.mp4',
    storage_key: `${partnerId}/missing.mp4`,
    size: 48_000,
    duration: 1834,
    start_time: new Date('2030-05-04T18:30:00Z'),
    end_time: new Date('2030-05-04T19:00:34Z'),
    created_by_id: null,
    user_id: null,
    transcription: JSON.stringify({
      text: '',
      language: 'en',
      engine: 'pocketsphinx',
      segments: [
        { start: 1, end: 4, text: 'Welcome everyone to the launch.', speaker: { user_id: null, username: 'nora', name: 'Nora' } },
        { start: 5, end: 9, text: 'Thanks for having me, it is great to be here.', speaker: { user_id: null, username: 'sam', name: 'Sam' } },
        { start: 10, end: 14, text: 'Let us start with the questions from last week.', speaker: { user_id: null, username: 'nora', name: 'Nora' } },
      ],
    }),
  });
  await page.goto(`/dashboard/o/${partnerId}/recordings`);
  await page.getByRole('link', { name: 'Launch party' }).waitFor();
  await shot('10-recordings');
  await page.getByRole('link', { name: 'Launch party' }).click();
  await page.getByText('Welcome everyone').waitFor();
  await shot('11-recording-transcript');
  // Webhooks: two endpoints; the log of one, whose second ping got a 503 first and succeeded on its retry.
  receiver.respond = (_r, n) => ({ status: n === 2 ? 503 : 200 });
  await page.goto(`/dashboard/o/${partnerId}/webhooks`);
  await page.getByText('No webhook endpoints yet').waitFor();
  await shot('15-webhooks-empty');
  await page.getByLabel('Endpoint URL').fill(`${receiver.url}/smalltalk`);
  await page.getByLabel('Description').fill('Production receiver');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByTestId('webhook-secret').waitFor();
  await call('POST', '/api/v1/partners/webhooks', { url: 'http://127.0.0.1:9/unreachable', description: 'Staging (down)', events: ['recording_saved'] });
  await page.reload();
  await page.locator('[data-webhook="http://127.0.0.1:9/unreachable"]').waitFor();
  await shot('16-webhooks');
  await page.locator(`[data-webhook="${receiver.url}/smalltalk"]`).getByRole('link').click();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('[data-delivery="ping"][data-status="succeeded"]').waitFor();
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.locator('[data-delivery="ping"][data-status="succeeded"]').nth(1).waitFor();
  await page.locator('[data-delivery="ping"] summary').first().click();
  await shot('17-webhook-deliveries');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('18-webhook-phone');
  await page.goto(`/dashboard/o/${partnerId}/talks`);
  await page.getByRole('link', { name: 'Office hours' }).waitFor();
  await shot('12-talks-phone');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL('**/login');
  await page.setViewportSize({ width: 1280, height: 860 });
  await shot('13-log-in');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await shot('14-forgot-password');
} finally {
  for (const s of sockets) s.terminate();
  await receiver.close();
  await context.close();
  await t.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
