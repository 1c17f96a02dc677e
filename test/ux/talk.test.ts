import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { openLiveBrowser } from '../live/page.js';

const liveEnv = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30' };

/** The talk page for hosts and guests in real Chromium: badges, bans, confirmations, the join link's secret. */
describe('the talk page: what a host and a guest see', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser(liveEnv));
  });
  after(() => close?.());

  const createTalk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
  const hostLink = async (talkId: string) =>
    (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host', uid: 'h1' } })).body
      .join_token.join_url as string;
  const joinAsGuest = async (page: Page, url: string, name: string) => {
    await page.goto(url);
    await page.getByLabel('Display name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
  };
  const row = (page: Page, name: string) => page.locator('[data-participant]', { hasText: name });

  test("a host's join link leaves the address bar once used, and a reload comes back as host", async () => {
    const talk = await createTalk({ name: 'Token hygiene' });
    const ctx = await browser.newContext();
    try {
      const host = await ctx.newPage();
      await host.goto(await hostLink(talk.id));
      assert.match(host.url(), /#token=/);
      await host.getByRole('button', { name: 'Join' }).click();
      await host.getByRole('button', { name: 'End talk' }).waitFor();
      assert.equal(await host.evaluate(() => location.href), talk.short_url, 'no token left in the address');
      await host.reload();
      await host.getByRole('button', { name: 'End talk' }).waitFor();
      assert.equal((await row(host, 'Hana Host').getByTestId('role').textContent())?.trim(), 'host');
      assert.equal(t.services.live?.participants(talk.id).length, 1, 'the same participant, resumed');
    } finally {
      await ctx.close();
    }
  });

  test('a listener brought on stage shows as a speaker; screen-reader text follows the mic', async () => {
    const talk = await createTalk({ name: 'Stage', room_type: 'hosted_events', mic_behavior: 'start_on' });
    const hostCtx = await browser.newContext();
    const guestCtx = await browser.newContext();
    try {
      const host = await hostCtx.newPage();
      const guest = await guestCtx.newPage();
      await host.goto(await hostLink(talk.id));
      await host.getByRole('button', { name: 'Join' }).click();
      await joinAsGuest(guest, talk.short_url, 'Gus Guest');
      await row(host, 'Gus Guest').getByTestId('role').filter({ hasText: 'listener' }).waitFor();
      assert.equal(await row(host, 'Gus Guest').getByRole('img').getAttribute('aria-label'), 'Listening (no microphone)');
      await host.getByRole('button', { name: 'Bring up' }).click();
      await row(host, 'Gus Guest').getByTestId('role').filter({ hasText: 'speaker' }).waitFor();
      await row(guest, 'Gus Guest').getByTestId('role').filter({ hasText: 'speaker' }).waitFor();
      await row(host, 'Gus Guest').getByRole('img', { name: 'Microphone on' }).waitFor();
      assert.equal(await guest.getByTestId('my-mic').textContent(), 'Microphone on');
      await guest.getByRole('button', { name: 'Mute mic' }).click();
      await guest.getByTestId('announcer').filter({ hasText: 'Your microphone is off' }).waitFor();
      // Left to be read: the host's (fake, beeping) mic starting again is not announced over it at once.
      await guest.waitForTimeout(1_200);
      assert.equal(await guest.getByTestId('announcer').textContent(), 'Your microphone is off');
      assert.equal(await guest.getByTestId('my-mic').textContent(), 'Microphone off');
      await row(host, 'Gus Guest').getByRole('img', { name: 'Microphone off' }).waitFor();
      await host.getByTestId('announcer').filter({ hasText: "Gus Guest's microphone is off" }).waitFor();
      await guest.getByRole('button', { name: 'Unmute mic' }).click();
      await guest.getByTestId('announcer').filter({ hasText: 'Your microphone is on' }).waitFor();
      assert.equal(await guest.getByRole('button', { name: 'Mute mic' }).getAttribute('aria-pressed'), null);
    } finally {
      await hostCtx.close();
      await guestCtx.close();
    }
  });

  test('Remove asks first, bans the guest for the talk (page and rejoin), and a host can let them back in; End talk asks first', async () => {
    const talk = await createTalk({ name: 'Moderated' });
    const hostCtx = await browser.newContext();
    const guestCtx = await browser.newContext();
    try {
      const host = await hostCtx.newPage();
      const guest = await guestCtx.newPage();
      await host.goto(await hostLink(talk.id));
      await host.getByRole('button', { name: 'Join' }).click();
      await joinAsGuest(guest, talk.short_url, 'Rowdy Rex');
      await host.getByRole('button', { name: 'Remove Rowdy Rex' }).click();
      const dialog = host.getByRole('dialog', { name: 'Remove Rowdy Rex from this talk?' });
      await dialog.waitFor();
      // Cancel: nothing happens.
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(t.services.live?.participants(talk.id).length, 2);
      await host.getByRole('button', { name: 'Remove Rowdy Rex' }).click();
      await dialog.getByRole('button', { name: 'Remove' }).click();
      await guest.getByTestId('removed').filter({ hasText: 'The host removed you from this talk.' }).waitFor();
      assert.equal(await guest.getByText('You left').count(), 0);
      await host.getByRole('region', { name: 'Removed from this talk' }).getByText('Rowdy Rex').waitFor();

      // The same browser, reloaded, is refused with the same page.
      await joinAsGuest(guest, talk.short_url, 'Rex Again');
      await guest.getByTestId('removed').filter({ hasText: 'The host removed you from this talk.' }).waitFor();
      // Another browser on the same address (a fresh context: no device id) is refused too.
      const other = await (await browser.newContext()).newPage();
      await joinAsGuest(other, talk.short_url, 'Rex Incognito');
      await other.getByTestId('removed').waitFor();
      await other.context().close();

      await host.getByRole('button', { name: 'Let Rowdy Rex back in' }).click();
      await host.getByRole('region', { name: 'Removed from this talk' }).waitFor({ state: 'detached' });
      await joinAsGuest(guest, talk.short_url, 'Rex Returns');
      await host.getByText('Rex Returns', { exact: true }).waitFor();

      await host.getByRole('button', { name: 'End talk' }).click();
      const end = host.getByRole('dialog', { name: 'End this talk for everyone?' });
      await end.getByRole('button', { name: 'Cancel' }).click();
      assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${talk.id}`, { token: p.token })).body.talk.status, 'live');
      await host.getByRole('button', { name: 'End talk' }).click();
      await end.getByRole('button', { name: 'End talk' }).click();
      await guest.getByText('This talk has ended.').waitFor();
    } finally {
      await hostCtx.close();
      await guestCtx.close();
    }
  });
});
