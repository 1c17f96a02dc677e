import { createHash, randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/** Passwords: argon2id with the library's defaults (64 MiB, 3 passes). */
export const passwords = {
  hash: (password: string) => argon2.hash(password, { type: argon2.argon2id }),
  verify: async (hash: string, password: string) => {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  },
};

const TOKEN_PREFIX = 'st_';

/** A new API token: shown once; we keep only its SHA-256 and a visible prefix. */
export function newApiToken(): { token: string; prefix: string; hash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, prefix: token.slice(0, 10), hash: sha256(token) };
}

/** A random secret for cookies, reset links and join tokens. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
