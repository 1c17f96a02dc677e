import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256 } from '../accounts/credentials.js';
import type { Talk } from '../platform/db/schema.js';
import { Admission, type JoinTokenRow, banKeysOf, cleanName, identityFor } from './admission.js';
import type { RoomsRepository } from './repository.js';
import { RoomError } from './errors.js';

const anyone = { access: 'anyone' } as const;
const inviteOnly = { access: 'invite_only' } as const;
const now = Date.parse('2026-01-01T12:00:00Z');

function tokenRow(over: Partial<NonNullable<JoinTokenRow>> = {}): NonNullable<JoinTokenRow> {
  return {
    id: 'jt1',
    partner_id: 'p1',
    talk_id: 't1',
    token_hash: 'h',
    uid: 'partner-user-7',
    name: 'Ada',
    username: 'ada',
    photo_url: 'https://example.com/ada.png',
    role: 'speaker',
    expires_at: null,
    created_at: new Date(now - 60_000),
    ...over,
  } as NonNullable<JoinTokenRow>;
}

const refusal = (code: RoomError['code']) => (err: unknown) => err instanceof RoomError && err.code === code;

describe('admission: who a visitor joins as', () => {
  test('a join token gives its person and role; its name wins over the typed one, else the typed one, else Guest', () => {
    const who = identityFor(anyone, { token: 'st_x', name: 'Typed' }, null, tokenRow(), now);
    assert.deepEqual(who, { role: 'speaker', name: 'Ada', username: 'ada', photoUrl: 'https://example.com/ada.png', uid: 'partner-user-7', userId: null });
    assert.equal(identityFor(anyone, { token: 'st_x', name: '  Typed   Name ' }, null, tokenRow({ name: null }), now).name, 'Typed Name');
    assert.equal(identityFor(anyone, { token: 'st_x' }, null, tokenRow({ name: null }), now).name, 'Guest');
  });

  test('an unknown or expired join token is refused, even to an invite-only talk a host is signed in to', () => {
    assert.throws(() => identityFor(anyone, { token: 'st_x' }, null, undefined, now), refusal('invalid_token'));
    assert.throws(() => identityFor(anyone, { token: 'st_x' }, null, tokenRow({ expires_at: new Date(now) }), now), refusal('invalid_token'));
    const host = { userId: 'u1', name: 'Host', username: null, photoUrl: null };
    assert.throws(() => identityFor(inviteOnly, { token: 'st_x' }, host, undefined, now), refusal('invalid_token'));
    assert.equal(identityFor(anyone, { token: 'st_x' }, null, tokenRow({ expires_at: new Date(now + 1) }), now).role, 'speaker');
  });

  test("a partner member's session joins as host, by their account, whatever the talk's access", () => {
    const host = { userId: 'u1', name: 'Grace', username: 'grace', photoUrl: 'javascript:alert(1)' };
    assert.deepEqual(identityFor(inviteOnly, { name: 'ignored' }, host, undefined, now), {
      role: 'host',
      name: 'Grace',
      username: 'grace',
      photoUrl: null,
      uid: null,
      userId: 'u1',
    });
  });

  test('a guest listens under the name they typed; an invite-only talk wants their invite', () => {
    const guest = identityFor(anyone, { name: ' Lin ', username: 'lin', photo_url: 'https://example.com/l.png' }, null, undefined, now);
    assert.deepEqual(guest, { role: 'listener', name: 'Lin', username: 'lin', photoUrl: 'https://example.com/l.png', uid: null, userId: null });
    assert.throws(() => identityFor(anyone, { name: '   ' }, null, undefined, now), refusal('bad_request'));
    assert.throws(() => identityFor(anyone, {}, null, undefined, now), refusal('bad_request'));
    assert.throws(() => identityFor(inviteOnly, { name: 'Lin' }, null, undefined, now), refusal('invite_required'));
    assert.equal(identityFor(inviteOnly, { name: 'Lin', invite: 'inv' }, null, undefined, now).invite, 'inv', 'the invite is spent when the join is recorded');
    assert.equal(identityFor(anyone, { name: 'Lin', invite: 'inv' }, null, undefined, now).invite, 'inv', 'an invite to an open talk is spent too');
  });

  test('a display name is 1 to 60 characters once trimmed, its spaces collapsed', () => {
    assert.equal(cleanName('  a \t b\n c '), 'a b c');
    assert.equal(cleanName('x'.repeat(60)), 'x'.repeat(60));
    assert.equal(cleanName('x'.repeat(61)), null);
    assert.equal(cleanName(''), null);
    assert.equal(cleanName(undefined), null);
    assert.equal(cleanName(42 as unknown as string), null);
  });

  test('what a ban would match: the join token by its hash, a well-formed browser id, the address', () => {
    assert.deepEqual(banKeysOf({ token: 'st_x', device: 'abcdefghijklmnop', address: '198.51.100.7' }), {
      tokenHash: sha256('st_x'),
      deviceId: 'abcdefghijklmnop',
      address: '198.51.100.7',
    });
    assert.deepEqual(banKeysOf({ device: 'short' }), { tokenHash: null, deviceId: null, address: null });
    assert.equal(banKeysOf({ device: 'a'.repeat(65) }).deviceId, null);
    assert.equal(banKeysOf({ device: 'has spaces in it!!' }).deviceId, null);
  });

  test("an address is a ban's key as the guest join limit counts it: an IPv6 one as its /64, an IPv4-mapped one as IPv4", () => {
    const key = (address: string) => banKeysOf({ address }).address;
    assert.equal(key('2001:db8:1:2:aaaa::1'), key('2001:db8:1:2:bbbb:cccc:dddd:eeee'), 'another address in the same /64');
    assert.notEqual(key('2001:db8:1:2::1'), key('2001:db8:1:3::1'), 'another /64');
    assert.equal(key('::ffff:198.51.100.7'), '198.51.100.7');
  });
});

describe('admission: coming back as oneself', () => {
  test('a participant resuming is matched against bans as who they are (the join link they came in with too), never as a guest by browser or address', async () => {
    const asked: { guest: boolean; participantId?: string; tokenHash: string | null }[] = [];
    const row = { id: 'part-1', role: 'host', name: 'Hana', username: null, photo_url: null, uid: null, user_id: null, token_hash: 'hash-of-her-link' };
    const repo = {
      participantToResume: async () => row,
      matchingBan: async (_p: string, _t: string, who: { guest: boolean; participantId?: string; tokenHash: string | null }) => {
        asked.push(who);
        return undefined;
      },
      markRejoined: async () => undefined,
    } as unknown as RoomsRepository;
    const admission = new Admission(null as never, repo, null as never, 0);
    const talk = { id: 't1', partner_id: 'p1' } as Talk;
    // A page back after a restart: its resume secret, no join token (dropped once joined), an address shared with someone removed.
    const back = await admission.resumeEarlier(talk, 'secret', banKeysOf({ device: 'hana-browser-0123456789', address: '203.0.113.9' }), () => false);
    assert.equal(back?.id, 'part-1');
    assert.deepEqual(
      asked.map((w) => [w.guest, w.participantId, w.tokenHash]),
      [[false, 'part-1', 'hash-of-her-link']],
    );
    // Removed later, the ban takes the link: opening it again is refused.
    assert.equal(back?.banKeys.tokenHash, 'hash-of-her-link');
  });
});
