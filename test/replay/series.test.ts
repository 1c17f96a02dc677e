import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { ensureWebBuilt, launchChromium, screenshotPath } from '../support/chromium.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { axeViolations } from '../ux/axe.js';
import { addRecording } from './fixtures.js';

/** A recurring talk's own page in real Chromium at phone width: upcoming talks, past ones with replays, subscribing. */
describe('the series page', () => {
  let t: TestApp;
  let p: TestPartner;
  let context: BrowserContext;
  let userDataDir: string;

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    p = await createPartner(t, 'Garden Radio');
    ({ context, userDataDir } = await launchChromium(t.url, { width: 360, height: 740 }));
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('lists the next talks and the past ones with their replays, in words; subscribing covers the series; axe clean at 360 px', async () => {
    const start = new Date(Date.now() - 2 * 3600_000);
    start.setUTCSeconds(0, 0);
    const head = (
      await api(t, 'POST', '/api/p/talk', {
        token: p.token,
        json: {
          name: 'Weekly compost clinic',
          description: 'Bring your bins',
          subscriptions_allowed: true,
          start_time: start.toISOString(),
          schedule: 'FREQ=WEEKLY;COUNT=4',
        },
      })
    ).body.talk;
    // The first talk happened and has a public replay.
    await api(t, 'POST', `/api/v1/partners/talks/${head.id}/end`, { token: p.token });
    await addRecording(t, p, head.id);
    const occurrences = await t.services.db.db.selectFrom('talks').selectAll().where('schedule_talk_id', '=', head.id).orderBy('start_time').execute();
    assert.equal(occurrences.length, 3);

    const page = await context.newPage();
    // Any talk of the series leads to the page; the head's own replay links to it.
    await page.goto(`/t/${(occurrences[1] as (typeof occurrences)[number]).short_code}/series`);
    await page.getByRole('heading', { name: 'Weekly compost clinic' }).waitFor();
    assert.match((await page.locator('#series-rule').textContent()) ?? '', /^Every week on \w+day, 4 times$/);
    const upcoming = page.getByRole('region', { name: 'Upcoming' }).getByRole('listitem');
    assert.equal(await upcoming.count(), 3);
    const past = page.getByRole('region', { name: 'Past talks and replays' }).getByRole('listitem');
    assert.equal(await past.count(), 1);
    assert.match((await past.textContent()) ?? '', /replay/);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
    assert.deepEqual(await axeViolations(page), []);

    await page.getByLabel('Email', { exact: true }).fill('lee@example.test');
    await page.getByRole('button', { name: 'Subscribe to the series' }).click();
    await page.getByRole('status').filter({ hasText: 'lee@example.test will get an email before each talk of this series' }).waitFor();
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: screenshotPath('series-360.png'), fullPage: true });
    const subs = await t.services.db.db.selectFrom('talk_subscriptions').selectAll().where('email', '=', 'lee@example.test').execute();
    assert.deepEqual(
      subs.map((s) => s.talk_id),
      [head.id],
      'stored on the series (its first talk)',
    );

    // The past talk's link opens its replay, which links back to the series.
    await past.getByRole('link').click();
    await page.getByText('Replay', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'More talks in this series' }).click();
    await page.waitForURL(new RegExp(`${new URL(head.short_url).pathname}/series$`));

    // A one-off talk has no series page.
    const single = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Once' } })).body.talk;
    assert.equal((await api(t, 'GET', `${new URL(single.short_url).pathname}/series`)).status, 404);
  });
});
