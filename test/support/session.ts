import type { Page } from 'playwright-core';
import { SESSION_COOKIE } from '../../src/platform/auth.js';

/**
 * Dashboard sessions, as the dashboard holds them: the `st_session` cookie, and the CSRF token the
 * login answered with, sent as `x-csrf-token` on state-changing calls (with `x-partner-id` to act
 * for an organization on the partner API).
 */

/** The cookies a response set, by name (a cleared one has the value ''). */
export function cookiesOf(res: { headers: Headers }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

export interface SessionHeaders extends Record<string, string> {
  cookie: string;
  'x-csrf-token': string;
}

/** A login the server refused: its status, and the Retry-After it gave (seconds; 0 without one). */
export class LoginRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}

/**
 * Logs `who` in over the API; the headers of a dashboard request in that session (with
 * `x-partner-id` when `partnerId` is given). Throws, with the answer, unless the login succeeds.
 */
export async function logIn(t: { url: string }, who: { email: string; password: string }, partnerId?: string): Promise<SessionHeaders> {
  const res = await fetch(`${t.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: who.email, password: who.password }),
  });
  const body = (await res.json()) as { csrf_token?: string };
  const session = cookiesOf(res)[SESSION_COOKIE];
  if (res.status !== 200 || !session || !body.csrf_token) {
    throw new LoginRefused(`log in as ${who.email}: ${res.status} ${JSON.stringify(body)}`, res.status, Number(res.headers.get('retry-after') ?? 0));
  }
  return { cookie: `${SESSION_COOKIE}=${session}`, 'x-csrf-token': body.csrf_token, ...(partnerId ? { 'x-partner-id': partnerId } : {}) };
}

/** A browser-like session: cookie jar plus the CSRF header on state-changing calls. */
export class Session {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly url: string) {}
  /** The Cookie header this session sends. */
  cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async call<T = any>(method: string, path: string, json?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const h: Record<string, string> = { ...headers, cookie: this.cookie() };
    if (json !== undefined) h['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrf) h['x-csrf-token'] = this.csrf;
    const res = await fetch(`${this.url}${path}`, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair.split('=');
      if (v === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    const body = (await res.json()) as T & { csrf_token?: string };
    if (body && typeof body === 'object' && 'csrf_token' in body && body.csrf_token) this.csrf = body.csrf_token;
    return { status: res.status, body };
  }
  /** Signs a new user up through the API (a unique email from `name`); throws unless it succeeds. */
  static async signUp(url: string, name: string) {
    const s = new Session(url);
    const email = `${name.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}@example.test`;
    const r = await s.call('POST', '/api/v1/auth/signup', { email, password: 'a long enough password', name });
    if (r.status !== 200) throw new Error(`sign up ${email}: ${r.status} ${JSON.stringify(r.body)}`);
    return { s, email, userId: r.body.user.id as string };
  }
}

/** Logs `who` in on the dashboard's login page and waits for their organization's talks list. */
export async function logInToDashboard(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/dashboard/login');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/dashboard\/o\/[0-9a-f-]{36}\/talks$/);
}
