import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';

describe('guests who may join from one address (GUEST_JOINS_PER_MINUTE)', () => {
  let t: TestApp;
  let p: TestPartner;
  const sockets: WebSocket[] = [];
  // TRUST_PROXY: the address is the proxy's X-Forwarded-For, so one machine can be several clients.
  const from = (address: string) => ({ 'x-forwarded-for': address });
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', GUEST_JOINS_PER_MINUTE: '3', TRUST_PROXY: 'true' } });
    p = await createPartner(t, 'Limits');
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });

  test('the fourth guest in a minute from one address is refused with the wait; others, join links and resumes are not', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Busy venue' } })).body.talk;
    const inRoom = async () => (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/participants`, { token: p.token })).body.participants.length;
    const guests = [];
    for (const name of ['Ann', 'Ben', 'Cy']) guests.push(await joinRoom(talk.short_url, { name }, from('198.51.100.7')));
    sockets.push(...guests.map((g) => g.socket));

    const refused = await joinRoom(talk.short_url, { name: 'Dee' }, from('198.51.100.7')).then(
      () => null,
      (err: Error) => JSON.parse(err.message),
    );
    assert.ok(refused, 'the fourth guest from 198.51.100.7 was refused');
    assert.equal(refused.code, 'rate_limited');
    const wait = Number(/try again in (\d+) s/.exec(refused.message)?.[1]);
    assert.ok(wait >= 1 && wait <= 20, `the refusal says how long to wait (${refused.message})`);
    assert.equal(await inRoom(), 3, 'the refused guest is not in the room');

    // Another address has its own allowance.
    sockets.push((await joinRoom(talk.short_url, { name: 'Eve' }, from('203.0.113.9'))).socket);
    // A partner-issued join link is not a guest's join: the partner vouches for it.
    const jt = await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, {
      token: p.token,
      json: { uid: 'u-9', name: 'Lin Listener', role: 'listener' },
    });
    const token = new URL(jt.body.join_token.join_url).hash.slice('#token='.length);
    sockets.push((await joinRoom(talk.short_url, { token }, from('198.51.100.7'))).socket);
    // A guest whose socket dropped comes back as the same participant, whatever the count.
    const ann = guests[0];
    const closed = once(ann.socket, 'close');
    ann.socket.terminate();
    await closed;
    const back = await joinRoom(talk.short_url, { name: 'Ann', resume: ann.resume }, from('198.51.100.7'));
    sockets.push(back.socket);
    assert.equal(back.participantId, ann.participantId);
    assert.equal(await inRoom(), 5);
  });
});
