import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { ensureWebBuilt, launchChromium } from '../support/chromium.js';
import { api } from '../support/api.js';
import { type TestApp, startApp } from '../support/app.js';
import { Receiver } from '../webhooks/receiver.js';

describe('dashboard in Chromium', () => {
  let t: TestApp;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const outside: string[] = [];
  const receivers: Receiver[] = [];

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    // The job queue and the webhook worker only: test deliveries and retries go through them.
    for (const job of t.services.background) if (job.name === 'queue' || job.name === 'webhook-delivery') await job.start();
    ({ context, userDataDir } = await launchChromium(t.url));
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    page = await context.newPage();
    // Nothing may be loaded from outside the server.
    page.on('request', (r) => {
      if (!r.url().startsWith(t.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) outside.push(r.url());
    });
  });
  after(async () => {
    for (const r of receivers) await r.close();
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('a new partner signs up, gets a token, makes a themed talk, a group, a recording with its transcript and a webhook endpoint with a successful test delivery', async () => {
    // Sign up from the login page.
    await page.goto('/dashboard');
    await page.waitForURL('**/dashboard/login');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Your name').fill('Nora Partner');
    await page.getByLabel('Email').fill('nora@example.test');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    // The server's validation error is shown next to the password field.
    await page.locator('[data-field-error="password"]', { hasText: 'password' }).waitFor();
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL('**/dashboard/orgs/new');
    await page.getByLabel('Organization name').fill('Nora Talks');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.waitForURL(/\/dashboard\/o\/[0-9a-f-]{36}\/settings$/);
    const partnerId = (await page.getByTestId('partner-id').textContent()) ?? '';
    assert.match(page.url(), new RegExp(partnerId));

    // A token, shown once, copied with the button, works against POST /api/p/talk.
    await page.getByText('No API tokens yet').waitFor();
    await page.getByLabel('Token name').fill('production');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = (await page.getByTestId('new-token').textContent()) ?? '';
    assert.match(shown, /^st_[\w-]{40,}$/);
    await page.getByRole('button', { name: 'Copy API token' }).click();
    await page.getByRole('button', { name: 'Copy API token' }).filter({ hasText: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, shown);
    const viaToken = await api(t, 'POST', '/api/p/talk', { token: copied, json: { name: 'Made with the copied token' } });
    assert.equal(viaToken.status, 200);
    assert.equal(viaToken.body.talk.partner_id, partnerId);
    await page.locator('tr[data-token="production"]').waitFor();

    // A theme, with the live preview following the colors.
    await page.getByRole('link', { name: 'Themes' }).click();
    await page.getByText('No themes yet').waitFor();
    await page.getByRole('link', { name: 'New theme' }).click();
    await page.getByLabel('Name').fill('Brand');
    await page.getByLabel('accent color as hex').fill('#ff6600');
    const previewAccent = await page.getByTestId('theme-preview').evaluate((el) => getComputedStyle(el).getPropertyValue('--accent').trim());
    assert.equal(previewAccent, '#ff6600');
    await page.getByRole('button', { name: 'Create theme' }).click();
    await page.locator('[data-theme="Brand"]').waitFor();
    const themeId = (await page.locator('[data-theme="Brand"] [data-testid="theme-id"]').textContent()) ?? '';
    const themes = await api(t, 'GET', '/api/v1/partners/themes', { token: copied });
    assert.deepEqual(
      themes.body.themes.map((th: { id: string; name: string; colors: { accent: string } }) => [th.id, th.name, th.colors.accent]),
      [[themeId, 'Brand', '#ff6600']],
    );

    // A talk with that theme, a start time in the browser's zone, and a weekly schedule.
    await page.getByRole('link', { name: 'Talks' }).click();
    await page.getByRole('link', { name: 'Made with the copied token' }).waitFor();
    await page.getByRole('link', { name: 'New talk' }).click();
    await page.getByLabel('Name').fill('Launch party');
    await page.getByLabel('Room type').selectOption('hosted_events');
    await page.getByLabel('Theme').selectOption(themeId);
    await page.getByLabel('Start').fill('2030-05-04T18:30');
    await page.getByLabel('End').fill('2030-05-04T17:00');
    await page.getByRole('button', { name: 'Create talk' }).click();
    // End before start: the API's error lands beside the End field.
    const endError = page.locator('[data-field-error="end_time"]');
    await endError.filter({ hasText: /./ }).waitFor();
    await page.getByLabel('End').fill('2030-05-04T19:30');
    await page.getByLabel('Repeats').selectOption('FREQ=WEEKLY');
    await page.getByRole('button', { name: 'Create talk' }).click();
    await page.waitForURL(/\/talks\/[0-9a-f-]{36}$/);
    const talkId = page.url().split('/').pop() ?? '';
    const shortUrl = (await page.getByTestId('short-url').textContent()) ?? '';
    assert.match(shortUrl, new RegExp(`^${t.url}/t/\\w+$`));
    assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is drawn locally');
    const talk = (await api(t, 'GET', `/api/v1/partners/talks/${talkId}`, { token: copied })).body.talk;
    assert.equal(talk.name, 'Launch party');
    assert.equal(talk.room_type, 'hosted_events');
    assert.equal(talk.theme_id, themeId);
    assert.equal(talk.schedule, 'FREQ=WEEKLY');
    const browserStart = await page.evaluate(() => new Date('2030-05-04T18:30').toISOString());
    assert.equal(new Date(talk.start_time).toISOString(), browserStart);
    assert.equal(talk.short_url, shortUrl);

    // Search finds it; filtering by another room type does not.
    await page.getByRole('link', { name: 'Talks' }).click();
    await page.getByLabel('Search by name').fill('launch');
    await page.getByRole('link', { name: 'Launch party' }).waitFor();
    await page.getByRole('link', { name: 'Made with the copied token' }).waitFor({ state: 'detached' });
    await page.getByLabel('Room type').selectOption('questions');
    await page.getByText('No talk matches').waitFor();

    // Groups: two, reordered by drag, one hidden, the talk added.
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByText('No groups yet').waitFor();
    for (const name of ['Season one', 'Season two']) {
      await page.getByLabel('New group name').fill(name);
      await page.getByRole('button', { name: 'Create group' }).click();
      await page.locator(`[data-group="${name}"]`).waitFor();
    }
    await page.locator('[data-group="Season two"]').dragTo(page.locator('[data-group="Season one"]'));
    await page.locator('.sortable li').first().and(page.locator('[data-group="Season two"]')).waitFor();
    const ordered = (await api(t, 'GET', '/api/v1/partners/groups', { token: copied })).body.groups;
    assert.deepEqual(
      ordered.map((g: { name: string }) => g.name),
      ['Season two', 'Season one'],
    );
    assert.ok(ordered[0].rank < ordered[1].rank);
    await page.locator('[data-group="Season one"]').getByLabel('Visible').click();
    await page.locator('[data-group="Season one"] .badge', { hasText: 'hidden' }).waitFor();
    await page.getByRole('link', { name: 'Season two' }).click();
    await page.getByLabel('Add a talk').selectOption(talkId);
    await page.getByRole('button', { name: 'Add to group' }).click();
    await page.locator('[data-group-talk="Launch party"]').waitFor();
    const groupsAfter = (await api(t, 'GET', '/api/v1/partners/groups', { token: copied })).body.groups;
    assert.equal(groupsAfter.find((g: { name: string }) => g.name === 'Season one').visible, false);
    const inGroup = await api(t, 'GET', `/api/v1/partners/group_talks?group_id=${ordered[0].id}`, { token: copied });
    assert.deepEqual(
      inGroup.body.talks.map((x: { id: string }) => x.id),
      [talkId],
    );

    // A recording with a real audio file and a transcript.
    const storageKey = `${partnerId}/${talkId}/rec.mp4`;
    const file = t.services.recordings.storage.localPath(storageKey);
    mkdirSync(path.dirname(file), { recursive: true });
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=6', '-c:a', 'aac', '-y', file]);
    await t.services.recordings.storage.commit(storageKey);
    const rec = await t.services.recordings.repo.insert(t.services.db.db, partnerId, {
      talk_id: talkId,
      status: 'ready',
      file_name: 'launch-party.mp4',
      storage_key: storageKey,
      size: null,
      duration: 6,
      start_time: new Date('2030-05-04T16:30:00Z'),
      end_time: new Date('2030-05-04T16:30:06Z'),
      created_by_id: null,
      user_id: null,
      transcription: JSON.stringify({
        text: 'Welcome everyone. Thanks for having me.',
        language: 'en',
        engine: 'test',
        segments: [
          { start: 0.5, end: 2.5, text: 'Welcome everyone.', speaker: { user_id: null, username: 'nora', name: 'Nora' } },
          { start: 3, end: 5.5, text: 'Thanks for having me.', speaker: { user_id: null, username: 'sam', name: 'Sam' } },
        ],
      }),
    });
    await page.goto(`/dashboard/o/${partnerId}/talks/${talkId}`);
    await page.getByRole('link', { name: 'Recordings' }).last().click();
    await page.getByRole('link', { name: 'Launch party' }).click();
    await page.getByText('Thanks for having me.').waitFor();
    assert.deepEqual(await page.locator('.transcript .speaker').allTextContents(), ['Nora', 'Sam']);
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).readyState >= 1);
    await page.getByRole('button', { name: 'Play from 0:03' }).click();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 3);
    await page.locator('.transcript li.current', { hasText: 'Thanks for having me.' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download transcript (.txt)' }).click()]);
    assert.equal(download.suggestedFilename(), 'launch-party-transcript.txt');
    const txt = readFileSync(await download.path(), 'utf8');
    assert.equal(txt, '[00:00:00] Nora: Welcome everyone.\n[00:00:03] Sam: Thanks for having me.\n');
    const href = (await page.getByRole('link', { name: 'Download launch-party.mp4' }).getAttribute('href')) ?? '';
    const mp4 = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { status: r.status, type: r.headers.get('content-type'), bytes: (await r.arrayBuffer()).byteLength };
    }, href);
    assert.equal(mp4.status, 200);
    assert.ok(mp4.bytes > 1000);
    await page.getByLabel('Who may download').selectOption('public');
    await page.waitForFunction(() => (document.querySelector('select[name="share_permission"]') as HTMLSelectElement).value === 'public');
    const after = await api(t, 'GET', `/api/v1/partners/recordings/${rec.id}`, { token: copied });
    assert.equal(after.body.recording.share_permission, 'public');

    // A webhook endpoint on a real receiver, with a successful test delivery.
    const receiver = await new Receiver().start();
    receivers.push(receiver);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No webhook endpoints yet').waitFor();
    await page.getByLabel('Endpoint URL').fill('ftp://example.test/hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    // The API refuses the scheme; the error lands beside the URL field.
    await page.locator('[data-field-error="url"]').filter({ hasText: /./ }).waitFor();
    const hookUrl = `${receiver.url}/smalltalk-hook`;
    await page.getByLabel('Endpoint URL').fill(hookUrl);
    await page.getByLabel('next_caption').uncheck();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    assert.match(secret, /^whsec_/);
    await page.locator(`[data-webhook="${hookUrl}"]`).getByRole('link', { name: hookUrl }).click();
    await page.getByText('No deliveries yet').waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    const ping = page.locator('[data-delivery="ping"][data-status="succeeded"]');
    await ping.waitFor();
    assert.equal(await ping.getByTestId('delivery-code').textContent(), '200');
    await ping.locator('summary').click();
    await ping.locator('pre.response', { hasText: 'answer 200' }).waitFor();
    assert.equal(receiver.received.length, 1);
    const got = receiver.received[0];
    assert.equal(got.json.event_name, 'ping');
    assert.equal(got.json.partner_id, partnerId);
    // The secret the page showed verifies the signature the receiver got.
    new Webhook(secret).verify(got.body, got.headers as Record<string, string>);
    const hooks = (await api(t, 'GET', '/api/v1/partners/webhooks', { token: copied })).body.webhooks;
    assert.deepEqual(
      hooks.map((h: { url: string; events: string[]; enabled: boolean }) => [h.url, h.events, h.enabled]),
      [[hookUrl, ['talk_join', 'recording_saved', 'transcription_ready'], true]],
    );
    const logged = (await api(t, 'GET', `/api/v1/partners/webhooks/${hooks[0].id}/deliveries`, { token: copied })).body.deliveries;
    assert.deepEqual(
      logged.map((d: { event_name: string; status: string; event_id: string }) => [d.event_name, d.status, d.event_id]),
      [['ping', 'succeeded', got.headers['webhook-id']]],
    );

    // Revoking the token from the settings page stops it at once.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Revoke token production' }).click();
    await page.getByRole('button', { name: 'Yes, revoke' }).click();
    await page.getByText('No API tokens yet').waitFor();
    assert.equal((await api(t, 'POST', '/api/p/talk', { token: copied, json: { name: 'x' } })).status, 401);

    // Log out, and the dashboard asks to log in again.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/dashboard/login');
    await page.goto(`/dashboard/o/${partnerId}/talks`);
    await page.waitForURL('**/dashboard/login?next=*');
    assert.deepEqual(outside, [], 'nothing loaded from outside the server');
  });
});
