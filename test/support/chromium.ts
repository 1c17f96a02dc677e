import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { webDist } from '../../src/platform/web.js';

/**
 * Every browser test's Chromium: Debian's (/usr/bin/chromium, never a browser download), headless=new,
 * with the same flags. Two shapes: `launch`, a browser with fake media capture (the live tests: a
 * page that speaks and listens), and `launchChromium`, a persistent context with a fresh profile
 * and a base URL (the dashboard tests: downloads, one page at a time).
 */
const executablePath = '/usr/bin/chromium';

const flags = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--mute-audio',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Chromium with fake media capture playing `wav` (flags from the WebRTC notes).
 * `denyMicrophone`: permission requests are denied instead of granted (a user who blocked the mic).
 */
export function launch(wav: string, options: { denyMicrophone?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath,
    // headless=new through the flags, without Playwright's other headless defaults.
    headless: false,
    args: [
      ...flags,
      options.denyMicrophone ? '--deny-permission-prompts' : '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`,
    ],
  });
}

/** A persistent context on a fresh profile (remove `userDataDir` after), pages opening relative to `baseURL`. */
export async function launchChromium(baseURL: string, viewport = { width: 1200, height: 900 }): Promise<{ context: BrowserContext; userDataDir: string }> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    baseURL,
    viewport,
    acceptDownloads: true,
    executablePath,
    // headless=new through the flags; Playwright's other headless defaults (hidden scrollbars) stay,
    // as the committed dashboard screenshots were taken with them.
    ignoreDefaultArgs: ['--headless'],
    args: flags,
  });
  return { context, userDataDir };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds web/dist when it is missing or older than web/src, so a browser test never runs yesterday's front end. */
export function ensureWebBuilt() {
  const manifest = path.join(webDist, '.vite', 'manifest.json');
  if (!existsSync(manifest) || statSync(manifest).mtimeMs < newestMtime('web/src')) {
    execFileSync('npx', ['vite', 'build', '--config', 'web/vite.config.ts'], { stdio: 'inherit' });
  }
}

/**
 * Where a test saves a screenshot of what it checked: docs/screenshots/ when UPDATE_SCREENSHOTS=1
 * (to refresh the committed pictures), else a scratch folder, so a test run leaves the tree as it was.
 */
export function screenshotPath(file: string): string {
  if (process.env.UPDATE_SCREENSHOTS === '1') return path.join('docs', 'screenshots', file);
  const dir = path.join(os.tmpdir(), 'smalltalk-screenshots');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, file);
}
