import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { ensureWebBuilt, launchChromium } from '../support/chromium.js';
import { logInToDashboard } from '../support/session.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { axeViolations } from './axe.js';

/** The dashboard's lists as people read them: a series once, groups by rank, words instead of raw values. */
describe('dashboard lists in Chromium', () => {
  let t: TestApp;
  let p: TestPartner;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    p = await createPartner(t, 'Garden Club');
    ({ context, userDataDir } = await launchChromium(t.url));
    page = await context.newPage();
    await logInToDashboard(page, p);
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  const base = () => `/dashboard/o/${p.partnerId}`;
  const post = (path: string, json: unknown) => api(t, 'POST', path, { token: p.token, json });

  test('a weekly series is one card (next occurrence first, the rest folded), its rule in words, its theme by name; no raw rule or id on the cards', async () => {
    // Next Tuesday, noon UTC.
    const start = new Date();
    start.setUTCDate(start.getUTCDate() + ((9 - start.getUTCDay()) % 7 || 7));
    start.setUTCHours(12, 0, 0, 0);
    const theme = (await post('/api/v1/partners/themes', { name: 'Meadow', colors: { background: '#f0fdf4', text: '#14532d', surface: '#ffffff' } })).body
      .theme;
    const series = (await post('/api/p/talk', { name: 'Seed swap', start_time: start.toISOString(), schedule: 'FREQ=WEEKLY', theme_id: theme.id })).body.talk;
    const all = (await api(t, 'GET', `/api/v1/partners/talks?schedule_talk_id=${series.id}&limit=100`, { token: p.token })).body.talks;
    assert.ok(all.length >= 5, `the API made the occurrences (${all.length})`);
    await post('/api/p/talk', { name: 'One-off walk' });
    await page.goto(`${base()}/talks`);
    const cards = page.locator('[data-talk-card="Seed swap"]');
    await cards.first().waitFor();
    assert.equal(await cards.count(), 1, 'one card for the series');
    await cards.getByText('Every week on Tuesday').waitFor();
    await cards.getByText(`and ${all.length} more`).waitFor();
    const first = await cards.getByRole('heading').getByRole('link').getAttribute('href');
    assert.match(first ?? '', new RegExp(`talks/${series.id}$`), 'the next occurrence (the first one) on the card');
    const cardsText = await page.getByRole('list', { name: 'Talks' }).innerText();
    assert.doesNotMatch(cardsText, /FREQ=|[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.deepEqual(await axeViolations(page), [], 'axe on the talks list');
    await cards.getByRole('heading').getByRole('link').click();
    await page.getByText('Every week on Tuesday').waitFor();
    await page.getByRole('link', { name: 'Meadow' }).waitFor();
  });

  test('groups are listed by rank, and the theme editor says live when text would be unreadable', async () => {
    for (const name of ['Spring', 'Summer', 'Autumn']) await post('/api/v1/partners/groups', { name });
    const groups = (await api(t, 'GET', '/api/v1/partners/groups', { token: p.token })).body.groups;
    const autumn = groups.find((g: { name: string }) => g.name === 'Autumn');
    const lowest = Math.min(...groups.map((g: { rank: number }) => g.rank));
    await api(t, 'PATCH', `/api/v1/partners/groups/${autumn.id}`, { token: p.token, json: { rank: lowest - 1 } });
    await page.goto(`${base()}/groups`);
    const list = page.getByRole('list', { name: 'Groups in order' });
    await list.getByRole('link', { name: 'Autumn' }).waitFor();
    assert.deepEqual(await list.locator('[data-group]').evaluateAll((els) => els.map((e) => e.getAttribute('data-group'))), ['Autumn', 'Spring', 'Summer']);

    await page.goto(`${base()}/themes/new`);
    await page.getByLabel('Name').fill('Pale');
    await page.getByLabel('background color as hex').fill('#ffffff');
    await page.getByText('This theme cannot be saved: text on background has a contrast of 1.05:1').waitFor();
    await page.getByLabel('text color as hex').fill('#1f2933');
    await page.getByText('This theme cannot be saved: text on surface').waitFor();
    await page.getByLabel('surface color as hex').fill('#f1f5f9');
    await page.getByText('This theme cannot be saved').waitFor({ state: 'detached' });
  });
});
