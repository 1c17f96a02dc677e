import { existsSync } from 'node:fs';
import os from 'node:os';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { skipUnlessCi } from './needs.js';

/**
 * The browser tests' second engine: Debian's Firefox ESR (/usr/bin/firefox-esr, installed by
 * scripts/setup-system.sh where the distribution has it), driven over WebDriver BiDi by
 * puppeteer-core. Playwright's own BiDi client needs commands newer than the ESR has, and its
 * Firefox build is a download; puppeteer-core speaks the BiDi the ESR ships and downloads nothing.
 *
 * Firefox's fake capture plays a tone (it has no file input like Chromium's), which is enough for
 * a peer to hear it. Media permission prompts are off, so getUserMedia answers at once.
 */
export const firefoxPath = '/usr/bin/firefox-esr';

/** Why a Firefox test cannot run here (its skip reason), or false. Under CI a missing Firefox fails. */
export function firefoxMissing(): string | false {
  return skipUnlessCi(existsSync(firefoxPath) ? false : `Firefox is not installed at ${firefoxPath} (scripts/setup-system.sh installs firefox-esr on Debian)`);
}

/** `soundServer`: a PulseAudio server for Firefox to play to (see bench/audience/sound.ts); without one, no AudioContext runs. */
export function launchFirefox(soundServer?: string): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: firefoxPath,
    headless: true,
    ...(soundServer ? { env: { ...process.env, PULSE_SERVER: soundServer } } : {}),
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
    },
  });
}

/**
 * Opens a talk's page (`url`) in a new Firefox tab of `opener` (a browser or one of its contexts) and
 * joins as a guest called `name`. `errors` collects the page's uncaught errors from the start.
 */
export async function joinAsGuest(opener: { newPage(): Promise<Page> }, url: string, name: string): Promise<{ page: Page; errors: string[] }> {
  const page = await opener.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(url);
  await page.locator('form.join input[name=name]').fill(name);
  await page.locator('form.join button[type=submit]').click();
  return { page, errors };
}

/** Waits until `fn` (run in the page) returns a truthy value, polling every 50 ms, or throws saying `what`. */
export async function pageWaits(page: Page, fn: () => unknown, what: string, timeout = 20_000) {
  await page.waitForFunction(fn, { timeout, polling: 50 }).catch(() => {
    throw new Error(`timed out waiting for ${what}`);
  });
}

/**
 * The address the SFU must listen on for Firefox: this machine's first non-loopback IPv4. Firefox
 * never pairs its candidates with a loopback one (not even with `media.peerconnection.ice.loopback`,
 * tried), so the tests' usual RTC_LISTEN_IP=127.0.0.1 leaves its ICE failed.
 */
export function lanAddress(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('no non-loopback IPv4 address on this machine: Firefox cannot reach the SFU over loopback');
}
