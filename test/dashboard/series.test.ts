import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { addRecording } from '../replay/fixtures.js';
import { axeViolations } from '../ux/axe.js';
import { ensureWebBuilt, launchChromium, screenshotPath } from '../support/chromium.js';
import { logInToDashboard } from '../support/session.js';

/**
 * A recurring talk in the dashboard, in real Chromium: its own page (next talk first, past ones with
 * their recordings, the rule in words), reached from the talks list; the recording page's shared
 * player from there; the live talk page's link to the public series page; axe on all of them
 * without a theme and with the partner's theme on the series.
 */
describe('dashboard series page in Chromium', () => {
  let t: TestApp;
  let p: TestPartner;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;
  let head: { id: string; short_url: string };
  let next: { id: string; short_code: string; start_time: Date | null };
  let recordingId: string;

  const base = () => `/dashboard/o/${p.partnerId}`;
  /** The page's main text: what people read (no rule syntax, no ids). */
  const mainText = async () => (await page.locator('main').textContent()) ?? '';
  const rawValues = /FREQ=|RRULE|COUNT=|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/;

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    p = await createPartner(t, 'Compost Club');
    const start = new Date(Date.now() - 2 * 3600_000);
    start.setUTCSeconds(0, 0);
    head = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: { name: 'Weekly compost clinic', description: 'Bring your bins', start_time: start.toISOString(), schedule: 'FREQ=WEEKLY;COUNT=4' },
      })
    ).body.talk;
    // The first talk happened and was recorded (privately: the dashboard's copy plays a signed link).
    assert.equal((await api(t, 'POST', `/api/v1/partners/talks/${head.id}/end`, { token: p.token })).status, 200);
    recordingId = (await addRecording(t, p, head.id, { share: 'private' })).id;
    const occurrences = await t.services.db.db.selectFrom('talks').selectAll().where('schedule_talk_id', '=', head.id).orderBy('start_time').execute();
    assert.equal(occurrences.length, 3);
    next = occurrences[0] as (typeof occurrences)[number];
    await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'One-off walk' } });

    ({ context, userDataDir } = await launchChromium(t.url));
    page = await context.newPage();
    await logInToDashboard(page, p);
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  /** The series page as the talks list's folded card leads to it, checked for what it says. */
  const openSeriesFromList = async () => {
    await page.goto(`${base()}/talks`);
    const card = page.locator('[data-talk-card="Weekly compost clinic"]');
    await card.getByRole('link', { name: 'The whole series' }).click();
    await page.waitForURL(new RegExp(`/series/${head.id}$`));
    await page.getByRole('heading', { name: 'Weekly compost clinic', level: 1 }).waitFor();
  };

  test('the talks list links the folded series to its page: next talk first, later ones, past ones with their recordings, in words; axe clean', async () => {
    await openSeriesFromList();
    assert.match((await page.getByTestId('series-rule').textContent()) ?? '', /^Every week on \w+day, 4 times · 4 talks$/);
    // The next occurrence first, linked to its talk page in the dashboard.
    const nextLink = page.getByRole('region', { name: 'Next' }).getByRole('link').first();
    assert.match((await nextLink.getAttribute('href')) ?? '', new RegExp(`/talks/${next.id}$`));
    assert.equal(await page.getByRole('region', { name: 'Later' }).getByRole('listitem').count(), 2);
    const past = page.getByRole('region', { name: 'Past talks and recordings' }).locator('[data-past-talk]');
    assert.equal(await past.count(), 1);
    assert.match((await past.textContent()) ?? '', /Recording \(1:00\)\s*ready · transcript/);
    assert.doesNotMatch(await mainText(), rawValues);
    // The public series page is one click away.
    assert.equal(await page.getByRole('link', { name: 'Public series page' }).getAttribute('href'), `${head.short_url}/series`);
    assert.deepEqual(await axeViolations(page), [], 'axe on the series page');
    await page.screenshot({ path: screenshotPath('dashboard-series.png') });

    // A talk of the series says so and links the same page.
    await page.goto(`${base()}/talks/${next.id}`);
    await page.getByRole('link', { name: 'The whole series' }).click();
    await page.waitForURL(new RegExp(`/series/${head.id}$`));
  });

  test("the series page's recording opens in the shared player: seeks on a click, highlights, searches, offers VTT/SRT/text; axe clean", async () => {
    await openSeriesFromList();
    await page.getByRole('link', { name: 'Recording (1:00)' }).click();
    await page.waitForURL(new RegExp(`/recordings/${recordingId}$`));
    await page.waitForFunction(() => ((document.querySelector('audio') as HTMLAudioElement | null)?.readyState ?? 0) >= 1);
    await page.getByRole('button', { name: /Play from 0:30/ }).click();
    await page.locator('.transcript li.current[aria-current="true"]', { hasText: 'Halfway there' }).waitFor();
    assert.ok(await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 30));
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());
    await page.getByLabel('Search the transcript').fill('compost');
    await page.getByRole('status').filter({ hasText: '1 of 4 lines' }).waitFor();
    for (const label of ['Download transcript (.txt)', 'Download subtitles (.vtt)', 'Download subtitles (.srt)'])
      await page.getByRole('link', { name: label }).waitFor();
    assert.deepEqual(await axeViolations(page), [], 'axe on the recording page');
    await page.getByLabel('Search the transcript').fill('');
    await page.screenshot({ path: screenshotPath('dashboard-recording.png') });
  });

  test('the live talk page of a series links its series page, quietly; a one-off talk has no such link', async () => {
    const talkPage = await context.newPage();
    try {
      await talkPage.goto(`/t/${next.short_code}`);
      const link = talkPage.getByRole('link', { name: 'More talks in this series' });
      await link.waitFor();
      assert.ok(await link.isVisible());
      assert.equal(await link.getAttribute('href'), `${t.url}/t/${next.short_code}/series`);
      await link.click();
      await talkPage.getByRole('heading', { name: 'Weekly compost clinic' }).waitFor();
      assert.match((await talkPage.locator('#series-rule').textContent()) ?? '', /^Every week on \w+day, 4 times$/);

      const oneOff = (await api(t, 'GET', '/api/v1/partners/talks?q=One-off', { token: p.token })).body.talks[0];
      await talkPage.goto(oneOff.short_url);
      await talkPage.getByRole('heading', { name: 'One-off walk' }).waitFor();
      assert.equal(await talkPage.getByRole('link', { name: 'More talks in this series' }).count(), 0);
    } finally {
      await talkPage.close();
    }
  });

  /** The dashboard's pages a partner's series touches, each loaded and checked by axe. */
  const axeSweep = async (themeId: string | null) => {
    const pages: [string, string, () => Promise<void>][] = [
      ['talks list', `${base()}/talks`, () => page.locator('[data-talk-card="Weekly compost clinic"]').waitFor()],
      ['series page', `${base()}/series/${head.id}`, () => page.getByTestId('series-rule').waitFor()],
      ['talk page in the dashboard', `${base()}/talks/${next.id}`, () => page.getByRole('link', { name: 'The whole series' }).waitFor()],
      ['recordings', `${base()}/recordings`, () => page.getByRole('list', { name: 'Recordings' }).waitFor()],
      ['recording page', `${base()}/recordings/${recordingId}`, () => page.getByRole('link', { name: 'Download subtitles (.srt)' }).waitFor()],
      ['themes', `${base()}/themes`, () => page.getByRole('heading', { name: themeId ? 'Meadow' : 'No themes yet' }).waitFor()],
      ['theme editor', `${base()}/themes/${themeId ?? 'new'}`, () => page.getByTestId('theme-preview').waitFor()],
    ];
    for (const [name, path, ready] of pages) {
      await page.goto(path);
      await ready();
      assert.deepEqual(await axeViolations(page), [], `axe on the ${name}, ${themeId ? 'themed' : 'no theme'}`);
    }
  };

  test("axe finds nothing on the dashboard's pages without a theme and with the partner's theme on the series, nor on the themed talk page at 360 px", async () => {
    await axeSweep(null);
    const theme = await api(t, 'POST', '/api/v1/partners/themes', {
      token: p.token,
      json: { name: 'Meadow', colors: { background: '#fdf6e3', text: '#1f2933', accent: '#ffb000', surface: '#ffffff' } },
    });
    assert.equal(theme.status, 200, JSON.stringify(theme.body));
    const themeId = theme.body.theme.id;
    for (const id of [head.id, next.id]) {
      const patched = await api(t, 'PATCH', `/api/v1/partners/talks/${id}`, { token: p.token, json: { theme_id: themeId } });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    }
    await axeSweep(themeId);
    await page.goto(`${base()}/talks/${next.id}`);
    await page.getByRole('link', { name: 'Meadow' }).waitFor();

    const phone = await context.newPage();
    try {
      await phone.setViewportSize({ width: 360, height: 740 });
      await phone.goto(`/t/${next.short_code}`);
      await phone.getByRole('link', { name: 'More talks in this series' }).waitFor();
      assert.equal(await phone.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(253, 246, 227)');
      assert.ok((await phone.evaluate(() => document.documentElement.scrollWidth)) <= 360);
      assert.deepEqual(await axeViolations(phone), [], 'axe on the themed talk page at 360 px');
    } finally {
      await phone.close();
    }
  });
});
