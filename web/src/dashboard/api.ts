/** The dashboard's only way to the server: JSON in, envelopes out, errors with their field. */

import type { Static, TSchema } from '@sinclair/typebox';
import type { listInvitesSchema, meSchema, membersSchema, PartnerSummary, TokenSchema } from '../../../src/accounts/schemas.js';
import type { listParticipantsSchema } from '../../../src/dashboard/schemas.js';
import type { GroupSchema } from '../../../src/groups/schemas.js';
import type { RecordingSchema } from '../../../src/recordings/schemas.js';
import type { InviteSchema, SubscriptionSchema } from '../../../src/rooms/schemas.js';
import type { TalkSchema } from '../../../src/talks/schemas.js';
import type { ThemeSchema } from '../../../src/themes/schemas.js';
import type { DeliverySchema, WebhookSchema } from '../../../src/webhooks/schemas.js';

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

// The answers' types come from the server's own schemas (imported for their types only: nothing of
// the server is bundled), so a field the API adds, renames or drops shows up here at type-check time.
/** What a route answers with 200, from its schema. */
type Answer<Route extends { response: { 200: TSchema } }> = Static<Route['response'][200]>;

export type Partner = Static<typeof PartnerSummary>;
export type Me = Answer<typeof meSchema>;
export type ApiToken = Static<typeof TokenSchema>;
export type Member = Answer<typeof membersSchema>['members'][number];
export type OrgInvite = Answer<typeof listInvitesSchema>['invites'][number];
export type Talk = Static<typeof TalkSchema>;
export type Group = Static<typeof GroupSchema>;
export type Theme = Static<typeof ThemeSchema>;
export type Recording = Static<typeof RecordingSchema>;
export type Webhook = Static<typeof WebhookSchema>;
export type Delivery = Static<typeof DeliverySchema>;
export type Participant = Answer<typeof listParticipantsSchema>['participants'][number];
export type TalkInvite = Static<typeof InviteSchema>;
export type Subscription = Static<typeof SubscriptionSchema>;

export const webhookEvents = ['talk_join', 'recording_saved', 'transcription_ready', 'next_caption'] as const;
