import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { launch } from '../support/chromium.js';
import { speechWav } from '../live/media.js';
import { axeViolations } from './axe.js';

describe('the home page and the favicon', () => {
  let t: TestApp;
  let plain: TestApp;
  let p: TestPartner;
  let browser: Browser;
  before(async () => {
    t = await startApp({ env: { HOME_PUBLIC_TALKS: 'true' } });
    plain = await startApp();
    p = await createPartner(t, 'Forest FM');
    browser = await launch(speechWav());
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await plain?.close();
  });

  const createTalk = async (json: Record<string, unknown>) => {
    const res = await api(t, 'POST', '/api/p/talk', { token: p.token, json });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.talk;
  };

  test('/ is a page about this server with sign-in and sign-up links; the favicon is an SVG at both addresses', async () => {
    const res = await fetch(`${plain.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<h1>smalltalk<\/h1>/);
    assert.match(html, /href="\/dashboard\/login">Sign in/);
    assert.match(html, /href="\/dashboard\/signup">Create an account/);
    assert.doesNotMatch(html, /Upcoming/, 'no listing unless the operator turns it on');
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const icon = await fetch(`${plain.url}${path}`);
      assert.equal(icon.status, 200);
      assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
      assert.match(await icon.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
  });

  test('with HOME_PUBLIC_TALKS: live, upcoming (a weekly series once) and past public talks; invite-only ones never; no axe violations, at 360 px too', async () => {
    const soon = new Date(Date.now() + 86400_000);
    soon.setUTCHours(18, 0, 0, 0);
    await createTalk({ name: 'Weekly garden hour', start_time: soon.toISOString(), schedule: 'FREQ=WEEKLY;COUNT=6' });
    await createTalk({ name: 'Secret meeting', access: 'invite_only', start_time: soon.toISOString() });
    const live = await createTalk({ name: 'Morning show' });
    const { socket } = await joinRoom(live.short_url, { name: 'Early Bird' });
    const ended = await createTalk({ name: 'Last spring' });
    await api(t, 'POST', `/api/v1/partners/talks/${ended.id}/end`, { token: p.token });
    try {
      for (const width of [1200, 360]) {
        const page = await browser.newPage({ viewport: { width, height: 900 } });
        await page.goto(`${t.url}/`);
        const section = (name: string) => page.getByRole('region', { name });
        await section('Live now').getByRole('link', { name: 'Morning show' }).waitFor();
        const upcoming = section('Upcoming');
        assert.equal(await upcoming.getByRole('link', { name: 'Weekly garden hour' }).count(), 1, 'the series once');
        await upcoming.getByText('and 5 more in this series').waitFor();
        assert.equal(await page.getByText('Secret meeting').count(), 0);
        await section('Past talks').getByRole('link', { name: 'Last spring' }).waitFor();
        assert.equal(await page.getByText('FREQ=').count(), 0);
        assert.deepEqual(await axeViolations(page), [], `axe at ${width} px`);
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), `no sideways scrolling at ${width} px`);
        // The favicon the page names loads.
        assert.equal(await page.evaluate(async () => (await fetch('/favicon.ico')).status), 200);
        await page.close();
      }
    } finally {
      socket.close();
    }
  });
});
