import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { toneMp4 } from '../recording/media.js';
import { ensureWebBuilt, launchChromium } from '../support/chromium.js';
import { logInToDashboard } from '../support/session.js';

/** A request for a recording file as the server saw it, and the status it answered (undefined until its headers went out). */
interface Seen {
  method: string;
  range: string | undefined;
  readonly status: number | undefined;
}

const LENGTH = 600;

/**
 * The dashboard's recording page in real Chromium: its <audio> plays our signed download route, and
 * a click on a transcript segment seeks there and plays. The browser gets there with Range requests
 * (the server answers 206) instead of downloading the file from its start.
 */
describe('dashboard recording player in Chromium: seeking by Range requests', () => {
  let t: TestApp;
  let p: TestPartner;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let size: number;
  let recordingId: string;
  const seen: Seen[] = [];

  const rangeStart = (range: string | undefined) => Number(/^bytes=(\d+)-/.exec(range ?? '')?.[1] ?? Number.NaN);
  const media = () =>
    page.evaluate(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      // No named helper in here: tsx would wrap it in a __name() call the page does not have.
      return {
        currentTime: a.currentTime,
        buffered: Array.from({ length: a.buffered.length }, (_, i) => [a.buffered.start(i), a.buffered.end(i)]),
        played: Array.from({ length: a.played.length }, (_, i) => [a.played.start(i), a.played.end(i)]),
      };
    });

  before(async () => {
    ensureWebBuilt();
    t = await startApp({ background: false });
    // What the server saw: every request for a recording file and the status it answered. Counted when
    // it arrives and answered once its headers are out, not on the response's 'finish': a media element
    // asks for `bytes=N-` and reads only what it wants, so the rest of a 9.6 MB file is finished (handed
    // to the socket) only if the browser happens to drain it, and a busy browser does not (it stops
    // reading or cancels); the click's 206 then never showed up and the test failed with either player.
    t.app.server.on('request', (req, res) => {
      if (!req.url?.startsWith('/files/recordings/')) return;
      seen.push({
        method: req.method ?? '',
        range: req.headers.range,
        get status() {
          return res.headersSent ? res.statusCode : undefined;
        },
      });
    });
    p = await createPartner(t, 'Player');
    const talkId = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Long talk' } })).body.talk.id;

    // Ten minutes of audio at 128 kb/s (about 9.6 MB), finalized with its index at the front as the mixer does.
    const storageKey = `${p.partnerId}/${talkId}/20301204.mp4`;
    const file = t.services.recordings.storage.localPath(storageKey);
    toneMp4(file, LENGTH, { bitrate: '128k', beeps: true });
    size = statSync(file).size;
    await t.services.recordings.storage.commit(storageKey);
    const rec = await t.services.recordings.repo.insert(t.services.db.db, p.partnerId, {
      talk_id: talkId,
      status: 'ready',
      file_name: '20301204.mp4',
      storage_key: storageKey,
      size,
      duration: LENGTH,
      start_time: new Date('2030-12-04T18:00:00Z'),
      end_time: new Date('2030-12-04T18:10:00Z'),
      created_by_id: null,
      user_id: null,
      transcription: JSON.stringify({
        text: 'Welcome. Halfway there. Nearly done.',
        language: 'en',
        engine: 'test',
        segments: [
          { start: 0.5, end: 4, text: 'Welcome.', speaker: { user_id: null, username: 'ada', name: 'Ada' } },
          { start: 300, end: 304, text: 'Halfway there.', speaker: { user_id: null, username: 'ben', name: 'Ben' } },
          { start: 480, end: 484, text: 'Nearly done.', speaker: { user_id: null, username: 'ada', name: 'Ada' } },
        ],
      }),
    });
    recordingId = rec.id;

    ({ context, userDataDir } = await launchChromium(t.url));
    page = await context.newPage();
    await logInToDashboard(page, p);
  });
  after(async () => {
    await context?.close();
    await t?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('clicking a later transcript segment seeks the player there and plays, fetched with a Range request', async () => {
    await page.goto(`/dashboard/o/${p.partnerId}/recordings/${recordingId}`);
    await page.getByText('Halfway there.').waitFor();
    await page.waitForFunction(() => (document.querySelector('audio') as HTMLAudioElement).readyState >= 1);
    assert.equal(await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).duration > 590), true);
    const src = await page.evaluate(() => (document.querySelector('audio') as HTMLAudioElement).currentSrc);
    assert.match(src, /\/files\/recordings\/[0-9a-f-]{36}\/20301204\.mp4\?expires=\d+&sig=/);
    await page.evaluate(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      a.addEventListener('seeked', () => document.body.setAttribute('data-seeked', String(a.currentTime)));
    });
    const before = seen.length;

    await page.getByRole('button', { name: 'Play from 5:00' }).click();
    await page.waitForFunction(() => document.body.hasAttribute('data-seeked'));
    assert.ok(Math.abs(Number(await page.evaluate(() => document.body.getAttribute('data-seeked'))) - 300) < 0.5);
    await page.waitForFunction(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      return !a.paused && a.currentTime > 300.2;
    });
    const m = await media();
    assert.ok(m.currentTime >= 300 && m.currentTime < 310, `currentTime ${m.currentTime}`);
    await page.locator('.transcript li.current', { hasText: 'Halfway there.' }).waitFor();

    // The browser asked for the middle of the file with a Range request, and the server answered 206.
    const after = seen.slice(before);
    const mid = after.filter((r) => r.method === 'GET' && r.status === 206 && rangeStart(r.range) > size * 0.3);
    assert.ok(mid.length > 0, `requests after the click: ${JSON.stringify(after)} (file ${size} bytes)`);
    // It did not download up to there: nothing buffered or played covers the minutes before 5:00.
    assert.ok(!m.buffered.some(([s, e]) => s < 60 && e > 290), `buffered ${JSON.stringify(m.buffered)}`);
    assert.ok(m.played.length > 0 && m.played.every(([s]) => s >= 299.5), `played ${JSON.stringify(m.played)}`);
  });

  test('the <audio> element seeks anywhere in a recording served by our route (currentTime, seeked, buffered)', async () => {
    await page.evaluate(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      a.pause();
      document.body.removeAttribute('data-seeked');
      a.currentTime = 420;
    });
    await page.waitForFunction(() => document.body.hasAttribute('data-seeked'));
    await page.waitForFunction(() => {
      const a = document.querySelector('audio') as HTMLAudioElement;
      for (let i = 0; i < a.buffered.length; i++) if (a.buffered.start(i) <= 420 && a.buffered.end(i) > 420.5) return true;
      return false;
    });
    const m = await media();
    assert.ok(Math.abs(m.currentTime - 420) < 0.5, `currentTime ${m.currentTime}`);
    assert.ok(!m.buffered.some(([s, e]) => s < 60 && e > 410), `buffered ${JSON.stringify(m.buffered)}`);
    // Everything the browser fetched from us was ranges: no request for the whole file from its start answered 200.
    await waitFor(() => seen.every((r) => r.status !== undefined), 'an answer to every file request');
    assert.ok(seen.length > 0 && seen.every((r) => r.status === 206 || r.status === 304), JSON.stringify(seen));
  });
});
