import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { WebhookSecret } from '../platform/db/schema.js';

/** How long a replaced secret keeps signing after a rotation. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** A new signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The secrets that still sign at `now`: the current one and any replaced less than 24 h ago. */
export function activeSecrets(secrets: WebhookSecret[], now = Date.now()): WebhookSecret[] {
  return secrets.filter((s) => s.expires_at === null || Date.parse(s.expires_at) > now);
}

const signers = new Map<string, Webhook>();

function signer(secret: string): Webhook {
  let w = signers.get(secret);
  if (!w) {
    if (signers.size > 10_000) signers.clear();
    w = new Webhook(secret);
    signers.set(secret, w);
  }
  return w;
}

/** The Standard Webhooks headers; `webhook-signature` carries one `v1,<sig>` per active secret. */
export function signedHeaders(eventId: string, payload: string, secrets: WebhookSecret[], now = new Date()): Record<string, string> {
  const signatures = activeSecrets(secrets, now.getTime()).map((s) => signer(s.secret).sign(eventId, now, payload));
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
