import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api } from '../support/api.js';
import type { TestApp, TestPartner } from '../support/app.js';
import { openLiveBrowser } from '../live/page.js';
import { axeViolations } from './axe.js';

/**
 * The lowest contrast between any visible text on the page and the background it is drawn on
 * (the nearest ancestor with an opaque background color), as Chromium computes the colors.
 */
export async function lowestTextContrast(page: Page) {
  // tsx keeps function names with a helper (__name) that the page does not have.
  await page.evaluate('globalThis.__name ??= (f) => f');
  return page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const x = v / 255;
        return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r as number) + 0.7152 * f(g as number) + 0.0722 * f(b as number);
    };
    const backgroundOf = (el: Element | null): string => {
      for (let e = el; e; e = e.parentElement) {
        const bg = getComputedStyle(e).backgroundColor;
        const parts = rgb(bg);
        if (parts.length === 3 || (parts.length === 4 && parts[3] === 1)) return bg;
      }
      return getComputedStyle(document.documentElement).backgroundColor;
    };
    let lowest = { ratio: 21, text: '', color: '', background: '' };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim()) continue;
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (box.width <= 1 || box.height <= 1 || style.visibility === 'hidden' || el.closest('[hidden],script,style,dialog:not([open])')) continue;
      const a = lum(rgb(style.color));
      const b = lum(rgb(backgroundOf(el)));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < lowest.ratio) lowest = { ratio, text: n.textContent.trim().slice(0, 40), color: style.color, background: backgroundOf(el) };
    }
    return lowest;
  });
}

describe('themes: readable and safe', () => {
  let t: TestApp;
  let p: TestPartner;
  let browser: Browser;
  let close: (() => Promise<void>) | undefined;
  before(async () => {
    ({ t, p, browser, close } = await openLiveBrowser({ RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' }));
  });
  after(() => close?.());

  const createTheme = (json: Record<string, unknown>) => api(t, 'POST', '/api/v1/partners/themes', { token: p.token, json });

  test('the API refuses text below WCAG AA contrast and http image URLs, in our envelope', async () => {
    // The theme that measured 1.39:1: light text on a light background.
    const low = await createTheme({ name: 'Washed out', colors: { background: '#f4f1de', text: '#e0dccb' } });
    assert.equal(low.status, 400);
    assert.equal(low.body.error.code, 'validation_failed');
    assert.equal(low.body.error.field, 'colors.text');
    assert.match(low.body.error.message, /text on background has a contrast of 1\.\d\d:1; WCAG AA needs at least 4\.5:1/);
    // Only a background: the default (near-white) text on it is checked too.
    const half = await createTheme({ name: 'White page', colors: { background: '#ffffff' } });
    assert.equal(half.status, 400);
    // Text fine on the background but not on the cards.
    const cards = await createTheme({ name: 'Cards', colors: { background: '#000000', text: '#ffffff', surface: '#eeeeee' } });
    assert.equal(cards.status, 400);
    assert.match(cards.body.error.message, /text on surface/);
    const http = await createTheme({ name: 'Mixed', logo_url: 'http://cdn.example.test/logo.png' });
    assert.equal(http.status, 400);
    assert.equal(http.body.error.field, 'logo_url');
    assert.match(http.body.error.message, /https/);
    assert.equal((await createTheme({ name: 'Local', background_url: 'http://localhost/bg.png' })).status, 400);
    const ok = await createTheme({
      name: 'Fine',
      colors: { background: '#ffffff', text: '#111111', surface: '#f1f1f1', accent: '#ffcc00' },
      logo_url: 'https://cdn.example.test/l.png',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const patched = await api(t, 'PATCH', `/api/v1/partners/themes/${ok.body.theme.id}`, {
      token: p.token,
      json: { colors: { background: '#ffffff', text: '#eeeeee' } },
    });
    assert.equal(patched.status, 400);
    assert.equal(patched.body.error.code, 'validation_failed');
  });

  test('every text on the talk page (light and dark themes, no theme; in the room too) reaches 4.5:1 at 360 px in Chromium, and axe finds nothing', async () => {
    const themes = {
      light: { background: '#fdf6e3', text: '#1f2933', accent: '#ffb000', surface: '#ffffff' },
      dark: { background: '#0b3d2e', text: '#f4f1de', accent: '#e07a5f', surface: '#14532d' },
    };
    for (const [name, colors] of [...Object.entries(themes), ['no theme', null] as const]) {
      let themeId: string | undefined;
      if (colors) {
        const theme = await createTheme({ name, colors, logo_url: 'https://images.example.test/logo.svg' });
        assert.equal(theme.status, 200, JSON.stringify(theme.body));
        themeId = theme.body.theme.id;
      }
      const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: `A ${name} talk`, description: 'About things', theme_id: themeId } }))
        .body.talk;
      const ctx = await browser.newContext({ viewport: { width: 360, height: 800 } });
      try {
        const page = await ctx.newPage();
        await page.route('https://images.example.test/**', (r) =>
          r.fulfill({ contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" width="80" height="24"/>' }),
        );
        await page.goto(talk.short_url);
        await page.getByLabel('Display name').fill('Theo');
        const before = await lowestTextContrast(page);
        assert.ok(before.ratio >= 4.5, `${name}, before joining: ${JSON.stringify(before)}`);
        assert.deepEqual(await axeViolations(page), [], `axe, ${name}, before joining`);
        await page.getByRole('button', { name: 'Join' }).click();
        await page.getByRole('button', { name: 'Leave' }).waitFor();
        const inRoom = await lowestTextContrast(page);
        assert.ok(inRoom.ratio >= 4.5, `${name}, in the room: ${JSON.stringify(inRoom)}`);
        assert.deepEqual(await axeViolations(page), [], `axe, ${name}, in the room`);
        const bodyColor = await page.evaluate(() => getComputedStyle(document.body).color);
        assert.equal(bodyColor, colors ? (name === 'light' ? 'rgb(31, 41, 51)' : 'rgb(244, 241, 222)') : 'rgb(248, 250, 252)');
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scrolling at 360 px');
      } finally {
        await ctx.close();
      }
    }
  });

  test('a theme saved before the check, with unreadable text, is adjusted on the page', async () => {
    const row = await t.services.db.db
      .insertInto('themes')
      .values({
        partner_id: p.partnerId,
        name: 'Legacy',
        colors: JSON.stringify({ background: '#f4f1de', text: '#e0dccb' }),
        logo_url: null,
        background_url: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Old theme', theme_id: row.id } })).body.talk;
    const page = await browser.newPage();
    try {
      await page.goto(talk.short_url);
      await page.getByLabel('Display name').waitFor();
      const lowest = await lowestTextContrast(page);
      assert.ok(lowest.ratio >= 4.5, JSON.stringify(lowest));
    } finally {
      await page.close();
    }
  });
});
