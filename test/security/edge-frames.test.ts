import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { hears, openLiveBrowser } from '../live/page.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner } from '../support/app.js';

// any: the embedding page's own flag, set by its iframe's onload
type W = any;

describe('security headers in Chromium: framing, and the talk page under its CSP', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  let embedder: http.Server;
  let embedderOrigin: string;
  const cspComplaints: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser({ RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' }));
    // Another site: a page on localhost (another origin than the app's 127.0.0.1) that frames ?src.
    embedder = http.createServer((req, res) => {
      const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? '';
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>Partner site</title><iframe allow="microphone; autoplay" width="800" height="600"
        src="${src.replace(/"/g, '&quot;')}" onload="window.loaded = true"></iframe>`);
    });
    await new Promise<void>((r) => embedder.listen(0, '127.0.0.1', r));
    embedderOrigin = `http://localhost:${(embedder.address() as AddressInfo).port}`;
  });
  after(async () => {
    embedder.close();
    await close?.();
  });

  const watch = (page: Page) =>
    page
      .on('pageerror', (e) => pageErrors.push(e.message))
      .on('console', (m) => {
        if (process.env.EDGE_DEBUG) console.log('page:', m.text());
        if (/Content Security Policy/i.test(m.text())) cspComplaints.push(m.text());
      });

  async function framed(page: Page, talkUrl: string) {
    await page.goto(`${embedderOrigin}/?src=${encodeURIComponent(talkUrl)}`);
    await page.waitForFunction(() => (window as W).loaded === true);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame);
    return frame;
  }

  test("a site not on the partner's list cannot frame the talk page", async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Not framable' } })).body.talk;
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      const frame = await framed(page, talk.short_url);
      assert.ok(!frame.url().startsWith(t.url), `the frame did not load the talk page (${frame.url()})`);
      assert.equal(await frame.locator('#talk-data').count(), 0);
    } finally {
      await ctx.close();
    }
  });

  test('a listed site frames the talk page', async () => {
    const embedding = await createPartner(t, 'Embeds');
    await t.services.accounts.repo.setEmbedOrigins(embedding.partnerId, [embedderOrigin]);
    const talk = (await api(t, 'POST', '/api/p/talk', { token: embedding.token, json: { name: 'Framed talk' } })).body.talk;
    const res = await fetch(talk.short_url);
    assert.match(String(res.headers.get('content-security-policy')), new RegExp(`frame-ancestors ${embedderOrigin}(;|$)`));
    assert.equal(res.headers.get('x-frame-options'), null);
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      watch(page);
      const frame = await framed(page, talk.short_url);
      assert.ok(frame.url().startsWith(t.url), frame.url());
      // The page's own script ran in the frame: it replaced the fallback with the join form.
      await frame.getByLabel('Display name').waitFor();
      assert.deepEqual(cspComplaints, [], 'no Content-Security-Policy violation in the framed talk page');
    } finally {
      await ctx.close();
    }
  });

  test('a guest joins inside the frame on the partner site: the room sees them, and they hear the host', async () => {
    const embedding = await createPartner(t, 'Embeds too');
    await t.services.accounts.repo.setEmbedOrigins(embedding.partnerId, [embedderOrigin]);
    const talk = (await api(t, 'POST', '/api/p/talk', { token: embedding.token, json: { name: 'Framed room', mic_behavior: 'start_off' } })).body.talk;
    const participants = async () =>
      (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/participants`, { token: embedding.token })).body.participants as { name: string }[];
    const jt = (
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: embedding.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } })
    ).body.join_token;
    const guestCtx = await browser.newContext();
    const hostCtx = await browser.newContext();
    try {
      const page = await guestCtx.newPage();
      watch(page);
      const frame = await framed(page, talk.short_url);
      await frame.getByLabel('Display name').fill('Fern Framed');
      await frame.getByRole('button', { name: 'Join' }).click();
      await frame.getByRole('button', { name: 'Unmute mic' }).waitFor();
      assert.deepEqual(
        (await participants()).map((x) => x.name),
        ['Fern Framed'],
        'the room sees the guest who joined inside the frame',
      );
      const host = await hostCtx.newPage();
      watch(host);
      await host.goto(jt.join_url);
      await host.getByRole('button', { name: 'Join' }).click();
      await frame
        .waitForFunction(() => ((window as W).smalltalk?.receivedLevel() ?? 0) > 0.02, null, { timeout: 20_000, polling: 50 })
        .catch(() => {
          throw new Error('timed out waiting for the framed guest to hear the host');
        });
      assert.deepEqual(cspComplaints, [], 'no Content-Security-Policy violation in the framed room');
      // Chromium denies a third-party frame its sessionStorage (third-party cookies blocked): the page must cope.
      assert.deepEqual(pageErrors, [], 'no uncaught error in the framed page');
    } finally {
      await guestCtx.close();
      await hostCtx.close();
    }
  });

  test('under its CSP, the talk page still joins and plays (host and guest hear each other)', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Under CSP', mic_behavior: 'start_off' } })).body.talk;
    assert.match(String((await fetch(talk.short_url)).headers.get('content-security-policy')), /script-src 'self';/);
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } }))
      .body.join_token;
    const hostCtx = await browser.newContext();
    const guestCtx = await browser.newContext();
    try {
      const host = await hostCtx.newPage();
      watch(host);
      await host.goto(jt.join_url);
      await host.getByRole('button', { name: 'Join' }).click();
      const guest = await guestCtx.newPage();
      watch(guest);
      await guest.goto(talk.short_url);
      await guest.getByLabel('Display name').fill('Gus Guest');
      await guest.getByRole('button', { name: 'Join' }).click();
      await guest.getByRole('button', { name: 'Unmute mic' }).waitFor();
      await hears(guest, 'the guest to hear the host');
      await guest.getByRole('button', { name: 'Unmute mic' }).click();
      await hears(host, 'the host to hear the guest');
      assert.deepEqual(cspComplaints, [], 'no Content-Security-Policy violation on the talk pages');
    } finally {
      await hostCtx.close();
      await guestCtx.close();
    }
  });
});
