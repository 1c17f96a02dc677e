import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { hears, micEnabled, openLiveBrowser } from './page.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '2', RECONNECT_GRACE_SECONDS: '10' };

describe('the talk page in Chromium', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
  });
  after(() => close?.());

  const joinAsGuest = async (page: Page, url: string, name: string) => {
    await page.goto(url);
    await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
  };

  test('a host and a guest hear each other; start_off starts the guest muted', async () => {
    const talk = (
      await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Open mic night', description: 'Come and talk', mic_behavior: 'start_off' } })
    ).body.talk;
    const html = await (await fetch(talk.short_url)).text();
    assert.match(html, /<title>Open mic night · smalltalk<\/title>/);
    assert.match(html, /og:description" content="Come and talk"/);
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } }))
      .body.join_token;
    const hostCtx = await browser.newContext();
    const guestCtx = await browser.newContext();
    try {
      const host = await hostCtx.newPage();
      const guest = await guestCtx.newPage();
      await host.goto(jt.join_url);
      await host.getByRole('button', { name: 'Join' }).click();
      await joinAsGuest(guest, talk.short_url, 'Gus Guest');
      await guest.getByRole('button', { name: 'Unmute mic' }).waitFor();
      assert.equal(await micEnabled(guest), false, 'start_off: the guest starts muted');
      await hears(guest, 'the guest to hear the host');
      await guest.getByRole('button', { name: 'Unmute mic' }).click();
      await guest.getByRole('button', { name: 'Mute mic' }).waitFor();
      await hears(host, 'the host to hear the guest');
      await host.getByText('Gus Guest', { exact: true }).waitFor();
    } finally {
      await hostCtx.close();
      await guestCtx.close();
    }
  });

  test("the talk's theme dresses the page (colors, logo, background); a talk without one gets the default", async () => {
    const theme = await api(t, 'POST', '/api/v1/partners/themes', {
      token: p.token,
      json: {
        name: 'Forest',
        colors: { background: '#0b3d2e', text: '#f4f1de', accent: '#e07a5f', surface: '#14532d' },
        logo_url: 'https://images.example.test/logo-forest.png',
        background_url: 'https://images.example.test/forest.jpg',
      },
    });
    assert.equal(theme.status, 200, JSON.stringify(theme.body));
    const themed = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'In the woods', theme_id: theme.body.theme.id } })).body.talk;
    const plain = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Plain' } })).body.talk;
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(themed.short_url);
      await page.getByLabel('Display name').waitFor();
      const look = () =>
        page.evaluate(() => {
          const body = getComputedStyle(document.body);
          return {
            background: body.backgroundColor,
            image: body.backgroundImage,
            text: body.color,
            logo: document.querySelector('img.logo')?.getAttribute('src') ?? null,
          };
        });
      const dressed = await look();
      assert.equal(dressed.background, 'rgb(11, 61, 46)');
      assert.equal(dressed.text, 'rgb(244, 241, 222)');
      assert.match(dressed.image, /forest\.jpg/);
      assert.equal(dressed.logo, 'https://images.example.test/logo-forest.png');
      await page.goto(plain.short_url);
      await page.getByLabel('Display name').waitFor();
      const undressed = await look();
      assert.notEqual(undressed.background, dressed.background);
      assert.equal(undressed.logo, null);
      assert.equal(undressed.image, 'none');
    } finally {
      await ctx.close();
    }
  });

  test('invite_only refuses a guest without an invite and admits one with it; an ended talk refuses joins', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Private', access: 'invite_only' } })).body.talk;
    const invite = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/invites`, { token: p.token, json: { max_uses: 1 } })).body.invite;
    const ctx = await browser.newContext();
    try {
      const page = await ctx.newPage();
      await page.goto(talk.short_url);
      await page.getByText('This talk is invite only').waitFor();
      await joinAsGuest(page, invite.join_url, 'Ivy Invited');
      await page.getByRole('button', { name: 'Leave' }).waitFor();
      await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
      await page.getByText('This talk has ended.').waitFor();
      const again = await ctx.newPage();
      await again.goto(talk.short_url);
      await again.getByText('This talk has ended.').waitFor();
      await waitFor(() => (t.services.live?.participants(talk.id).length ?? 0) === 0, 'the room to empty');
      // A talk past its end time that nobody ended says so at once, with no join form.
      const past = (
        await api(t, 'POST', '/api/p/talk', {
          token: p.token,
          json: { name: 'Yesterday', start_time: new Date(Date.now() - 7200_000).toISOString(), end_time: new Date(Date.now() - 3600_000).toISOString() },
        })
      ).body.talk;
      await again.goto(past.short_url);
      await again.getByText('This talk has ended.').waitFor();
      assert.equal(await again.getByRole('button', { name: 'Join' }).count(), 0);
    } finally {
      await ctx.close();
    }
  });
});
