import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';
import { startProxy } from './edge-proxy.js';

/**
 * The guest join limit (GUEST_JOINS_PER_MINUTE) behind a real proxy hop that appends the client's
 * address to X-Forwarded-For: a client writing its own X-Forwarded-For must still be counted by
 * its real address, with TRUST_PROXY as a hop count and as the proxy's address.
 */
describe('guest joins behind a proxy: a forged X-Forwarded-For does not escape the limit', () => {
  const perMinute = 3;
  // One app per TRUST_PROXY form, started one after the other (in parallel, a loaded machine hit
  // Fastify's plugin start timeout).
  const setups: Record<string, { t: TestApp; p: TestPartner; proxy: Awaited<ReturnType<typeof startProxy>> }> = {};
  const sockets: WebSocket[] = [];
  before(async () => {
    for (const trust of ['1', '127.0.0.1']) {
      const t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', GUEST_JOINS_PER_MINUTE: String(perMinute), TRUST_PROXY: trust } });
      setups[trust] = { t, p: await createPartner(t, 'Proxied'), proxy: await startProxy(t.url) };
    }
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    for (const { t, proxy } of Object.values(setups)) {
      await proxy.close();
      await t.close();
    }
  });

  for (const trust of ['1', '127.0.0.1']) {
    test(`TRUST_PROXY=${trust}: guests rotating X-Forwarded-For from one machine are refused after the allowance; another machine still joins`, async () => {
      const { t, p, proxy } = setups[trust];
      const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Behind the proxy' } })).body.talk;
      const viaProxy = `${proxy.url}/t/${talk.short_url.split('/t/')[1]}`;
      const started = Date.now();
      const outcomes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const forged = { 'x-forwarded-for': `203.0.113.${i + 1}` };
        const outcome = await joinRoom(viaProxy, { name: `Guest ${i}` }, forged, { localAddress: '127.0.0.2' }).then(
          (joined) => {
            sockets.push(joined.socket);
            return 'joined';
          },
          (err: Error) => JSON.parse(err.message).code as string,
        );
        outcomes.push(outcome);
      }
      // The bucket refills at perMinute a minute: a very slow run may regain one join in between.
      const regained = Math.floor(((Date.now() - started) / 60_000) * perMinute);
      assert.deepEqual(outcomes.slice(0, perMinute), Array(perMinute).fill('joined'), outcomes.join(','));
      const rest = outcomes.slice(perMinute);
      assert.ok(
        rest.every((o) => o === 'joined' || o === 'rate_limited'),
        outcomes.join(','),
      );
      assert.ok(rest.filter((o) => o === 'joined').length <= regained, `forged addresses were not counted apart: ${outcomes.join(',')}`);

      // Another machine behind the same proxy (its own address, appended by the proxy) has its own allowance.
      sockets.push((await joinRoom(viaProxy, { name: 'Neighbour' }, {}, { localAddress: '127.0.0.3' })).socket);
      const names = (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/participants`, { token: p.token })).body.participants.map(
        (x: { name: string }) => x.name,
      );
      assert.equal(names.length, outcomes.filter((o) => o === 'joined').length + 1);
      assert.ok(names.includes('Neighbour'));
    });
  }
});
