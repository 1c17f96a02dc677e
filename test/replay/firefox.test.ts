import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { ensureWebBuilt } from '../support/chromium.js';
import { firefoxMissing, launchFirefox, pageWaits } from '../support/firefox.js';
import { LINES, addRecording } from './fixtures.js';

/**
 * The replay page in Firefox (the Chromium suite is replay.test.ts): the recording (AAC in an mp4,
 * index first) loads, a click on a transcript line seeks there and plays, and the highlight follows.
 */
describe('the replay page in Firefox', { skip: firefoxMissing() }, () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let page: Page;

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    p = await createPartner(t, 'Garden Radio');
    browser = await launchFirefox();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const audio = () =>
    page.evaluate(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      const seekable = a.seekable.length ? a.seekable.end(a.seekable.length - 1) : 0;
      return { currentTime: a.currentTime, paused: a.paused, duration: a.duration, seekable, error: a.error?.message ?? null };
    });

  test('loads the recording, seeks by a click on a line and plays from there; the highlight follows', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Garden hour' } })).body.talk;
    assert.equal((await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token })).status, 200);
    await addRecording(t, p, talk.id);
    await page.goto(talk.short_url);
    await pageWaits(page, () => ((document.querySelector('audio') as HTMLAudioElement | null)?.readyState ?? 0) >= 1, 'the recording to load');
    const loaded = await audio();
    assert.ok(Math.abs(loaded.duration - 60) < 1, `duration ${loaded.duration}`);
    assert.ok(loaded.seekable > 59, `seekable to ${loaded.seekable}`);
    assert.equal(await page.$$eval('.transcript li', (items) => items.length), LINES.length);

    // The second line starts at 0:30: its button seeks there and plays.
    const lines = await page.$$('.transcript button.line');
    await lines[1]?.click();
    await pageWaits(
      page,
      () => {
        const a = document.querySelector('audio') as HTMLAudioElement;
        return !a.paused && a.currentTime >= 30;
      },
      'the player to play from 0:30',
    );
    const seeked = await audio();
    assert.ok(seeked.currentTime >= 30 && seeked.currentTime < 34, `currentTime ${seeked.currentTime}`);
    // This machine has no sound card: Firefox, with no audio output to open, sometimes sets the
    // element's error to OnMediaSinkAudioError and plays on against its own clock (1 run in 4 alone,
    // 3 in 4 with four at once; the highlight below follows either way). That says nothing of the
    // recording; any other error (a decode or network one) fails the test. An ALSA null device
    // instead made the player's clock stall: the highlight never followed.
    assert.ok(seeked.error === null || /OnMediaSinkAudioError/.test(seeked.error), `the player's error: ${seeked.error}`);
    assert.match((await page.$eval('.transcript li.current', (li) => li.textContent)) ?? '', /Halfway there/);
    // It plays on by itself: the highlight reaches the third line (0:34).
    await pageWaits(
      page,
      () => /Compost is the secret/.test(document.querySelector('.transcript li.current')?.textContent ?? ''),
      'the highlight to follow the audio',
    );
    assert.ok((await audio()).currentTime >= 34);
  });
});
