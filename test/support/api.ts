import type { TestApp } from './app.js';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with a token and a JSON body (or a raw string body with the given content type). */
export async function api<T = any>(
  t: Pick<TestApp, 'url'>,
  method: string,
  pathAndQuery: string,
  options: { token?: string | null; json?: unknown; body?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json; charset=utf-8';
  } else if (options.body !== undefined) {
    body = options.body;
    headers['content-type'] = options.contentType ?? 'application/x-www-form-urlencoded';
  }
  const res = await fetch(`${t.url}${pathAndQuery}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (pages)
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
