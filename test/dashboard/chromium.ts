import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { webDist } from '../../src/platform/web.js';

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

/** Debian's Chromium, headless=new, a fresh profile: never a browser download. */
export async function launchChromium(baseURL: string, viewport = { width: 1200, height: 900 }): Promise<{ context: BrowserContext; userDataDir: string }> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    baseURL,
    viewport,
    acceptDownloads: true,
    executablePath: '/usr/bin/chromium',
    ignoreDefaultArgs: ['--headless'],
    args: [
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
    ],
  });
  return { context, userDataDir };
}

/** Logs `who` in on the dashboard's login page and waits for their organization's talks list. */
export async function logInToDashboard(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/dashboard/login');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard\/o\/[0-9a-f-]{36}\/talks$/);
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
