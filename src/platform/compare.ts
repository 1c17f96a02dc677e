import { timingSafeEqual } from 'node:crypto';

/** Compares two secrets in constant time (signatures, CSRF tokens, resume secrets). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
