import { createHmac } from 'node:crypto';
import { safeEqual } from '../platform/compare.js';

/** A partner member joining as host, as the node that read their session cookie saw them. */
export interface SessionHost {
  userId: string;
  name: string;
  username: string | null;
  photoUrl: string | null;
}

const LIFETIME_MS = 60_000;

/**
 * A node that sends a room socket to the node hosting the talk cannot pass the session cookie on
 * (that node may be another host name), so it passes what the cookie proved instead: a short-lived
 * statement, signed with the SECRET_KEY every node shares, that this user may host this talk. The
 * page hands it back in its join on the hosting node; it says nothing about any other talk.
 */
export function signHandoff(secret: string, talkId: string, host: SessionHost, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ t: talkId, e: now + LIFETIME_MS, h: host })).toString('base64url');
  return `${payload}.${mac(secret, payload)}`;
}

export function verifyHandoff(secret: string, talkId: string, value: unknown, now = Date.now()): SessionHost | null {
  if (typeof value !== 'string' || value.length > 4096) return null;
  const [payload, signature] = value.split('.');
  if (!payload || !signature || !safeEqual(signature, mac(secret, payload))) return null;
  try {
    const data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { t: string; e: number; h: SessionHost };
    if (data.t !== talkId || !(data.e > now) || typeof data.h?.userId !== 'string' || typeof data.h.name !== 'string') return null;
    return { userId: data.h.userId, name: data.h.name, username: data.h.username ?? null, photoUrl: data.h.photoUrl ?? null };
  } catch {
    return null;
  }
}

function mac(secret: string, payload: string) {
  return createHmac('sha256', secret).update(`room-handoff:${payload}`).digest('base64url');
}
