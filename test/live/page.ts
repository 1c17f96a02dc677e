import type { Browser, Page } from 'playwright-core';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { ensureWebBuilt, launch } from '../support/chromium.js';
import { speechWav } from './media.js';

/** What each browser suite starts with: the app with live rooms (`env`), a partner, and Chromium speaking Festival speech. */
export async function openLiveBrowser(env: Record<string, string>): Promise<{ t: TestApp; p: TestPartner; browser: Browser; close: () => Promise<void> }> {
  // The talk page as web/src has it now (a suite run alone after an edit would test the last build).
  ensureWebBuilt();
  const t = await startApp({ env });
  const p = await createPartner(t, 'Acme');
  const browser = await launch(speechWav());
  return {
    t,
    p,
    browser,
    close: async () => {
      await browser.close();
      await t.close();
    },
  };
}

// any: the page's diagnostics object (window.smalltalk) is untyped here
type W = any;

/** Waits until the page's WebAudio analyser on received audio reads above 0.02 (speech arrived). */
export async function hears(page: Page, what: string, timeout = 20_000) {
  await page
    .waitForFunction(() => ((window as W).smalltalk?.receivedLevel() ?? 0) > 0.02, null, { timeout, polling: 50 })
    .catch(() => {
      throw new Error(`timed out waiting for ${what}`);
    });
}

/** Starts recording the page's peak received level (read it back with `peakLevel`). */
export async function trackPeak(page: Page) {
  await page.evaluate(() => {
    const w = window as W;
    w.peakLevel = 0;
    clearInterval(w.peakTimer);
    w.peakTimer = setInterval(() => {
      w.peakLevel = Math.max(w.peakLevel, w.smalltalk?.receivedLevel() ?? 0);
    }, 20);
  });
}

export const peakLevel = (page: Page) => page.evaluate(() => (window as W).peakLevel as number);

export const participantIdOf = (page: Page) => page.evaluate(() => (window as W).smalltalk?.client.participantId as string | null);

export const micEnabled = (page: Page) => page.evaluate(() => (window as W).smalltalk.client.micEnabled() as boolean);
