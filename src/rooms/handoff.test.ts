import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signHandoff, verifyHandoff } from './handoff.js';

const secret = 'a-secret-every-node-shares-0123456789';
const host = { userId: 'u1', name: 'Hana Host', username: 'hana', photoUrl: null };

test('a handoff vouches for one host of one talk, for a minute, under the shared secret', () => {
  const now = Date.now();
  const value = signHandoff(secret, 'talk-1', host, now);
  assert.deepEqual(verifyHandoff(secret, 'talk-1', value, now + 59_000), host);
  assert.equal(verifyHandoff(secret, 'talk-1', value, now + 61_000), null, 'expired');
  assert.equal(verifyHandoff(secret, 'talk-2', value, now), null, 'another talk');
  assert.equal(verifyHandoff('another-secret-0123456789abcdefghij', 'talk-1', value, now), null, 'another deployment');
  const [payload, signature] = value.split('.');
  const forged = Buffer.from(JSON.stringify({ t: 'talk-1', e: now + 60_000, h: { ...host, userId: 'u2' } })).toString('base64url');
  assert.equal(verifyHandoff(secret, 'talk-1', `${forged}.${signature}`, now), null, 'a changed payload');
  assert.equal(verifyHandoff(secret, 'talk-1', payload, now), null, 'no signature');
  for (const junk of [undefined, 42, '', '.', 'x'.repeat(5000)]) assert.equal(verifyHandoff(secret, 'talk-1', junk, now), null);
});
