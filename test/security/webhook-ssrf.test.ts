import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { isBlockedAddress } from '../../src/webhooks/transport.js';
import { Receiver } from '../webhooks/receiver.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';

const base = '/api/v1/partners/webhooks';

/** IPv6 forms that carry a loopback or private IPv4 a host or relay may route to. */
const hostile = [
  '::7f00:1', // IPv4-compatible 127.0.0.1
  '::127.0.0.1',
  '::a00:1', // IPv4-compatible 10.0.0.1
  '::ffff:127.0.0.1', // IPv4-mapped
  '::ffff:a9fe:a9fe', // IPv4-mapped 169.254.169.254 (cloud metadata)
  '::ffff:0:7f00:1', // IPv4-translated
  '2002:7f00:1::1', // 6to4 of 127.0.0.1
  '2002:a9fe:a9fe::', // 6to4 of 169.254.169.254
  '2002:c0a8:101::1', // 6to4 of 192.168.1.1
  '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1
  '2001:0:a00:1::1', // Teredo, server 10.0.0.1
  '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
  '64:ff9b::10.1.2.3',
  '64:ff9b:1::a00:1', // local-use NAT64
];
/** The same forms around public IPv4 addresses, and plain public IPv6: still welcome. */
const fine = ['2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '2606:4700:4700::1111'];

describe('the webhook SSRF guard sees the IPv4 inside IPv6 addresses', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false', WEBHOOK_ALLOW_HTTP: 'true' } });
    p = await createPartner(t);
  });
  after(() => t.close());

  test('registration refuses each hostile form with a 400 on url; public ones are accepted', async () => {
    for (const address of hostile) {
      const res = await api(t, 'POST', base, { token: p.token, json: { url: `https://[${address}]/hook` } });
      assert.equal(res.status, 400, `${address}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.equal(res.body.error.field, 'url');
    }
    for (const address of fine) {
      const res = await api(t, 'POST', base, { token: p.token, json: { url: `https://[${address}]/hook` } });
      assert.equal(res.status, 200, `${address}: ${JSON.stringify(res.body)}`);
    }
  });

  test('delivery refuses them too (an endpoint stored before the guard knew these forms)', async () => {
    const r = await new Receiver().start();
    try {
      const port = new URL(r.url).port;
      const created = await api(t, 'POST', base, { token: p.token, json: { url: `http://[2002:808:808::1]:${port}/hook` } });
      assert.equal(created.status, 200);
      const id = created.body.webhook.id;
      for (const address of ['::ffff:0:7f00:1', '::7f00:1', '2002:7f00:1::1']) {
        await sql`update webhook_endpoints set url = ${`http://[${address}]:${port}/hook`} where id = ${id}::uuid`.execute(t.services.db.db);
        const ping = await api(t, 'POST', `${base}/${id}/test`, { token: p.token });
        assert.equal(ping.body.delivery.status, 'failed', address);
        assert.match(ping.body.delivery.attempts[0].error, /^refused: url points to .*private, loopback or link-local/, address);
      }
      assert.equal(r.received.length, 0);
    } finally {
      await r.close();
    }
  });

  test('every address a DNS answer may carry is checked the same way (the lookup the delivery agent uses)', () => {
    for (const address of hostile) assert.equal(isBlockedAddress(address), true, address);
    for (const address of fine) assert.equal(isBlockedAddress(address), false, address);
    for (const address of ['127.0.0.1', '10.0.0.1', '::1', '::', 'fe80::1%eth0', 'not an address']) assert.equal(isBlockedAddress(address), true, address);
    assert.equal(isBlockedAddress('93.184.216.34'), false);
  });
});
