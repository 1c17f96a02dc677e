/** The dashboard's only way to the server: JSON in, envelopes out, errors with their field. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

/** The session's CSRF token (from /me, login or sign-up; the st_csrf cookie as a fallback). */
export function setCsrf(token: string) {
  csrfToken = token;
}

function csrf(): string {
  if (csrfToken) return csrfToken;
  const match = document.cookie.match(/(?:^|;\s*)st_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

export interface CallOptions {
  /** Acts for this organization on the partner API (X-Partner-Id). */
  partner?: string;
  query?: Record<string, string | number | undefined | null>;
}

export async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf();
  if (options.partner) headers['x-partner-id'] = options.partner;
  let url = path;
  if (options.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'the server could not be reached; check your connection and try again');
  }
  const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string; field?: string } | null } | null;
  if (!res.ok || !data || data.error) {
    const e = data?.error;
    throw new ApiError(res.status, e?.code ?? 'internal_error', e?.message ?? `the server answered ${res.status}`, e?.field);
  }
  return data as T;
}

/** A file of the partner API as text (a transcript as VTT, SRT or plain text), acting for `partner`. */
export async function callText(path: string, partner: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { 'x-partner-id': partner }, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'the server could not be reached; check your connection and try again');
  }
  if (!res.ok) {
    const e = ((await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? 'internal_error', e?.message ?? `the server answered ${res.status}`);
  }
  return res.text();
}

export interface Partner {
  id: string;
  name: string;
  role: 'owner' | 'admin' | 'member';
}

export interface Me {
  user: { id: string; email: string; name: string; username: string | null };
  partners: Partner[];
  csrf_token: string;
}

export interface Talk {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
  short_url: string;
  schedule: string | null;
  schedule_talk_id: string | null;
  access: 'anyone' | 'invite_only';
  mic_behavior: 'start_off' | 'start_on';
  room_type: 'default' | 'questions' | 'hosted_events';
  theme_id: string | null;
  subscriptions_allowed: boolean;
  recording: boolean;
  thumbnail_url: string | null;
  status: 'scheduled' | 'live' | 'ended';
}

export interface Group {
  id: string;
  name: string;
  description: string | null;
  rank: number;
  visible: boolean;
}

export interface Theme {
  id: string;
  name: string;
  colors: { background?: string; text?: string; accent?: string; surface?: string };
  logo_url: string | null;
  background_url: string | null;
  updated_at: string;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  speaker: { name: string; username: string | null; user_id: string | null };
}

export interface Recording {
  id: string;
  talk_id: string;
  created_at: string;
  start_time: string;
  duration: number | null;
  file_name: string;
  size: number | null;
  share_permission: 'private' | 'public';
  status: 'recording' | 'processing' | 'ready' | 'failed';
  url: string | null;
  transcription: { text: string; language: string; engine: string; segments: Segment[] } | null;
}

export const webhookEvents = ['talk_join', 'recording_saved', 'transcription_ready', 'next_caption'] as const;

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  description: string | null;
  disabled_reason: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  created_at: string;
  updated_at: string;
  /** Only in the answer that creates the endpoint or rotates its secret. */
  secret?: string;
}

export interface DeliveryAttempt {
  attempted_at: string;
  status_code: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_name: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  attempts: DeliveryAttempt[];
}

export interface Participant {
  participant_id: string;
  name: string;
  role: 'host' | 'speaker' | 'listener';
  photo_url: string | null;
}

export interface TalkInvite {
  id: string;
  talk_id: string;
  max_uses: number | null;
  uses: number;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  join_url?: string;
}

export interface Subscription {
  id: string;
  email: string;
  name: string | null;
  created_at: string;
}
