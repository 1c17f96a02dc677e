import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinLimit, limitKey } from './join-limit.js';

test('a full bucket admits a burst, then the refill rate; addresses are counted apart; 0 is no limit', () => {
  const limit = new JoinLimit(3);
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) assert.equal(limit.take('198.51.100.7', t0), 0, `join ${i + 1} of the burst`);
  assert.equal(limit.take('198.51.100.7', t0), 20, 'the fourth waits a third of a minute');
  assert.equal(limit.take('203.0.113.9', t0), 0, 'another address has its own bucket');
  assert.equal(limit.take('198.51.100.7', t0 + 15_000), 5, 'a refused join takes nothing');
  assert.equal(limit.take('198.51.100.7', t0 + 20_000), 0, 'one join a refill later');
  assert.equal(limit.take('198.51.100.7', t0 + 20_000), 20);
  const off = new JoinLimit(0);
  for (let i = 0; i < 1000; i++) assert.equal(off.take('198.51.100.7', t0), 0);
});

test('a client is counted by its IPv4 address or its IPv6 /64', () => {
  assert.equal(limitKey('198.51.100.7'), '198.51.100.7');
  assert.equal(limitKey('::ffff:198.51.100.7'), '198.51.100.7');
  assert.equal(limitKey('2001:db8:a:b:1:2:3:4'), '2001:db8:a:b::/64');
  assert.equal(limitKey('2001:0db8:000a:000b::9'), '2001:db8:a:b::/64');
  assert.equal(limitKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(limitKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  const limit = new JoinLimit(2);
  assert.equal(limit.take('2001:db8:a:b::1', 0), 0);
  assert.equal(limit.take('2001:db8:a:b::2', 0), 0);
  assert.ok(limit.take('2001:db8:a:b:ffff::3', 0) > 0, 'a third address of the same /64 waits');
  assert.equal(limit.take('2001:db8:a:c::1', 0), 0, 'the next /64 is another client');
});
