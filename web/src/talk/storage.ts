/**
 * This tab's sessionStorage, or, where the browser denies it, memory for as long as the page lives.
 * Chromium denies storage to a page framed by another site when third-party cookies are blocked
 * (incognito, and by default in more and more browsers): reading `sessionStorage` then throws. A
 * talk page embedded in a partner's site must still join; only a reload's resume is lost there.
 */
const memory = new Map<string, string>();

function session(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export const tabStorage = {
  get(key: string): string | null {
    const s = session();
    return s ? s.getItem(key) : (memory.get(key) ?? null);
  },
  set(key: string, value: string) {
    const s = session();
    if (s) s.setItem(key, value);
    else memory.set(key, value);
  },
  remove(key: string) {
    const s = session();
    if (s) s.removeItem(key);
    else memory.delete(key);
  },
};
