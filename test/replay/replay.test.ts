import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { ensureWebBuilt, launchChromium, screenshotPath } from '../support/chromium.js';
import { logInToDashboard } from '../support/session.js';
import { axeViolations } from '../ux/axe.js';
import { LINES, addRecording } from './fixtures.js';

/** An ended talk's short URL in real Chromium at phone width: its replay (public), or what it says instead. */
describe('the replay page', () => {
  let t: TestApp;
  let p: TestPartner;
  let context: BrowserContext;
  let userDataDir: string;
  let page: Page;

  const endedTalk = async (json: Record<string, unknown>) => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
    const ended = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    return { ...talk, short_code: new URL(talk.short_url).pathname.split('/').pop() } as { id: string; short_url: string; short_code: string };
  };
  const audio = () =>
    page.evaluate(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      return { currentTime: a.currentTime, paused: a.paused, readyState: a.readyState, src: a.currentSrc };
    });
  const current = () => page.locator('.transcript li.current').textContent();

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    p = await createPartner(t, 'Garden Radio');
    ({ context, userDataDir } = await launchChromium(t.url, { width: 360, height: 740 }));
    page = await context.newPage();
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('plays, seeks by a click on a line, the highlight follows the audio, search narrows, downloads; axe clean at 360 px', async () => {
    const talk = await endedTalk({ name: 'Garden hour', description: 'Tomatoes & compost' });
    const rec = await addRecording(t, p, talk.id);

    await page.goto(talk.short_url);
    await page.getByRole('heading', { name: 'Garden hour' }).waitFor();
    await page.waitForFunction(() => ((document.querySelector('audio') as HTMLAudioElement | null)?.readyState ?? 0) >= 1);
    const before = await audio();
    // The public file route, no signature: a public replay needs no partner token.
    assert.equal(before.src, `${t.url}/files/recordings/${rec.id}/${encodeURIComponent(rec.file_name)}`);
    assert.equal(await page.locator('.transcript li').count(), LINES.length);

    // Click the second line: the player seeks there and plays; that line is highlighted.
    await page.getByRole('button', { name: /Play from 0:30/ }).click();
    await page.waitForFunction(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      return !a.paused && a.currentTime >= 30;
    });
    const seeked = await audio();
    assert.ok(seeked.currentTime >= 30 && seeked.currentTime < 34, `currentTime ${seeked.currentTime}`);
    assert.match((await current()) ?? '', /Halfway there/);
    assert.equal(await page.locator('.transcript li.current').getAttribute('aria-current'), 'true');
    // As it plays on, the highlight moves to the next line by itself (the third starts at 0:34).
    await page.locator('.transcript li.current', { hasText: 'Compost is the secret.' }).waitFor({ timeout: 20_000 });
    assert.ok((await audio()).currentTime >= 34);
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());

    // Search: only the lines that say it, the words marked, the count said.
    await page.getByLabel('Search the transcript').fill('TOMATOES');
    await page.getByRole('status').filter({ hasText: '1 of 4 lines' }).waitFor();
    assert.equal(await page.locator('.transcript li').count(), 1);
    assert.equal(await page.locator('.transcript li mark').textContent(), 'tomatoes');
    // A click on a found line plays from it too.
    await page.getByRole('button', { name: /Play from 0:30/ }).click();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).currentTime >= 30);
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());
    await page.getByLabel('Search the transcript').fill('no such words');
    await page.getByRole('status').filter({ hasText: '0 of 4 lines' }).waitFor();
    await page.getByLabel('Search the transcript').fill('');
    assert.equal(await page.locator('.transcript li').count(), LINES.length);

    // Downloads: the transcript as VTT, SRT and text, served publicly, and the audio itself.
    const downloaded: Record<string, string> = {};
    for (const [label, ext] of [
      ['Subtitles (.vtt)', 'vtt'],
      ['Subtitles (.srt)', 'srt'],
      ['Text (.txt)', 'txt'],
    ]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: label }).click()]);
      assert.equal(download.suggestedFilename(), `${talk.short_code}-transcript.${ext}`);
      downloaded[ext] = readFileSync(await download.path(), 'utf8');
    }
    assert.match(downloaded.vtt as string, /^WEBVTT/);
    assert.match(downloaded.vtt as string, /00:00:30\.000 --> /);
    assert.match(downloaded.srt as string, /00:00:30,000 --> /);
    assert.match(downloaded.txt as string, /Halfway there, the tomatoes\./);
    const audioLink = await page.getByRole('link', { name: 'Audio (.mp4)' }).getAttribute('href');
    const file = await fetch(audioLink as string, { headers: { range: 'bytes=0-99' } });
    assert.equal(file.status, 206);

    // Fits a 360 px phone: nothing wider than the screen.
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: screenshotPath('replay-360.png'), fullPage: true });
    await page.setViewportSize({ width: 1200, height: 800 });
    await page.getByRole('button', { name: /Play from 0:30/ }).click();
    await page.locator('.transcript li.current').waitFor();
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());
    await page.screenshot({ path: screenshotPath('replay.png') });
    await page.setViewportSize({ width: 360, height: 740 });
  });

  test('with a theme: every color from the theme, and axe finds nothing', async () => {
    const theme = await api(t, 'POST', '/api/v1/partners/themes', {
      token: p.token,
      json: { name: 'Meadow', colors: { background: '#fdf6e3', text: '#1f2933', accent: '#ffb000', surface: '#ffffff' } },
    });
    assert.equal(theme.status, 200, JSON.stringify(theme.body));
    const talk = await endedTalk({ name: 'Themed replay', theme_id: theme.body.theme.id });
    await addRecording(t, p, talk.id);
    await page.goto(talk.short_url);
    await page.getByRole('button', { name: /Play from 0:30/ }).click();
    await page.locator('.transcript li.current').waitFor();
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());
    await page.getByLabel('Search the transcript').fill('compost');
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(253, 246, 227)');
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360);
    assert.deepEqual(await axeViolations(page), []);
    await page.screenshot({ path: screenshotPath('replay-themed-360.png'), fullPage: true });
  });

  test('a private recording: "ended" for the public (no file, no transcript), a link to the dashboard copy for the partner\'s signed-in people', async () => {
    const talk = await endedTalk({ name: 'Members only' });
    const rec = await addRecording(t, p, talk.id, { share: 'private' });
    const html = (await api(t, 'GET', new URL(talk.short_url).pathname)).body as string;
    assert.match(html, /This talk has ended\./);
    assert.doesNotMatch(html, /Listen to the recording|\/files\/recordings|Halfway there/);
    for (const ext of ['vtt', 'srt', 'txt']) assert.equal((await api(t, 'GET', `/t/${talk.short_code}/transcript.${ext}`)).status, 404);
    assert.equal((await api(t, 'GET', `/files/recordings/${rec.id}/${rec.file_name}`)).status, 404);

    await page.goto(talk.short_url);
    await page.getByRole('status').filter({ hasText: 'This talk has ended.' }).waitFor();
    assert.equal(await page.locator('audio').count(), 0);
    assert.equal(await page.getByRole('link', { name: /in the dashboard/ }).count(), 0);
    assert.deepEqual(await axeViolations(page), []);

    // Signed in to the partner's dashboard: the page links to the dashboard's copy, which plays with its transcript.
    await logInToDashboard(page, p);
    await page.goto(talk.short_url);
    await page.getByRole('link', { name: 'Listen to the recording in the dashboard' }).click();
    await page.waitForURL(new RegExp(`/dashboard/o/${p.partnerId}/recordings/${rec.id}$`));
    await page.getByRole('button', { name: /Play from 0:50/ }).click();
    await page.locator('.transcript li.current', { hasText: 'Nearly done' }).waitFor();
    assert.ok((await audio()).src.includes('sig='), 'the dashboard plays the signed link');
    await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).pause());
    // The same player as the replay page: search, and the transcript as the API writes it (VTT with cues, SRT).
    await page.getByLabel('Search the transcript').fill('compost');
    await page.getByRole('status').filter({ hasText: '1 of 4 lines' }).waitFor();
    const [srt] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download subtitles (.srt)' }).click()]);
    assert.match(readFileSync(await srt.path(), 'utf8'), /00:00:30,000 --> /);
    const [vtt] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download subtitles (.vtt)' }).click()]);
    assert.match(readFileSync(await vtt.path(), 'utf8'), /^WEBVTT\n\n1\n00:00:00\.\d{3} --> /);
    // Someone of another partner, signed in, gets no link.
    await context.clearCookies();
  });

  test('a recording being finished: "the replay will be here shortly"; a failed one or none: ended', async () => {
    const pending = await endedTalk({ name: 'Just finished' });
    await addRecording(t, p, pending.id, { status: 'processing', transcript: false });
    await page.goto(pending.short_url);
    await page.getByRole('status').filter({ hasText: 'The replay will be here shortly' }).waitFor();
    assert.equal(await page.locator('audio').count(), 0);
    assert.deepEqual(await axeViolations(page), []);

    const none = await endedTalk({ name: 'Not recorded' });
    const html = (await api(t, 'GET', new URL(none.short_url).pathname)).body as string;
    assert.match(html, /This talk has ended\./);
    assert.doesNotMatch(html, /replay will be here/);
  });

  test('link previews: Open Graph and Twitter card with the talk, escaped', async () => {
    const talk = await endedTalk({ name: 'Q&A "live" <b>', description: 'Bring <questions>' });
    const rec = await addRecording(t, p, talk.id);
    const html = (await api(t, 'GET', new URL(talk.short_url).pathname)).body as string;
    assert.match(html, /<meta property="og:title" content="Replay: Q&amp;A &quot;live&quot; &lt;b&gt;">/);
    assert.match(html, /<meta name="twitter:card" content="summary">/);
    assert.match(html, /<meta name="twitter:description" content="Bring &lt;questions&gt;">/);
    assert.ok(html.includes(`<meta property="og:url" content="${talk.short_url}">`));
    assert.ok(html.includes(`<meta property="og:audio" content="${t.url}/files/recordings/${rec.id}/`));
    // A live (not ended) talk's page has its card too.
    const live = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Soon <i>', description: 'A & B' } })).body.talk;
    const page2 = (await api(t, 'GET', new URL(live.short_url).pathname)).body as string;
    assert.match(page2, /<meta name="twitter:title" content="Soon &lt;i&gt;">/);
    assert.match(page2, /<meta property="og:description" content="A &amp; B">/);
  });
});
