/** What to tell someone whose browser blocks the microphone: the steps differ by browser. */

export type BrowserFamily = 'chromium' | 'firefox' | 'safari' | 'safari-ios';

export function browserFamily(userAgent: string): BrowserFamily {
  if (/Firefox\/|FxiOS\//.test(userAgent) && !/Seamonkey/i.test(userAgent)) return 'firefox';
  // Chrome, Edge, Opera and the other Chromium browsers all say "Chrome/"; on iOS every browser is WebKit.
  if (/iPhone|iPad|iPod/.test(userAgent)) return 'safari-ios';
  if (/Safari\//.test(userAgent) && !/Chrome\/|Chromium\/|CriOS\/|Edg\//.test(userAgent)) return 'safari';
  return 'chromium';
}

/** The steps to allow the microphone again, for the browser this page runs in. */
export function unblockSteps(family: BrowserFamily): string[] {
  switch (family) {
    case 'firefox':
      return [
        'Click the crossed-out microphone icon at the left of the address bar.',
        'Next to "Use the Microphone", click the × to clear "Blocked Temporarily" or "Blocked".',
        'Reload this page and allow the microphone when Firefox asks.',
      ];
    case 'safari':
      return [
        'In the menu bar, choose Safari › Settings for This Website… (or Settings › Websites › Microphone).',
        'Set Microphone to "Allow" for this website.',
        'Reload this page.',
      ];
    case 'safari-ios':
      return [
        'Tap the "aA" button in the address bar, then Website Settings.',
        'Set Microphone to "Allow" (or Settings › Safari › Microphone).',
        'Reload this page.',
      ];
    default:
      return ['Click the site settings icon at the left of the address bar (a lock or two sliders).', 'Set Microphone to "Allow".', 'Reload this page.'];
  }
}

/** The line under the steps: the system can block the browser itself, and an embedding site can too. */
export const systemHint =
  'Still blocked? Your system may block the browser: on macOS, System Settings › Privacy & Security › Microphone; on Windows, Settings › Privacy › Microphone. If this page is inside another site, open it in its own tab. You can still join and listen without a microphone.';
