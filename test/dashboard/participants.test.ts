import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { type TestApp, type TestPartner, api, createPartner, startApp } from '../helpers.js';

/** Joins a talk's room over its real WebSocket, as the talk page does, and waits for `joined`. */
async function joinRoom(t: TestApp, shortUrl: string, name: string) {
  const code = new URL(shortUrl).pathname.split('/').pop();
  const socket = new WebSocket(`${t.url.replace('http', 'ws')}/t/${code}/ws`);
  await once(socket, 'open');
  const joined = new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.on('message', (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.type === 'joined') resolve(msg);
      if (msg.type === 'error') reject(new Error(JSON.stringify(msg)));
    });
  });
  socket.send(JSON.stringify({ type: 'join', name }));
  const msg = await joined;
  return { socket, participantId: msg.participant_id as string };
}

describe('GET /api/v1/partners/talks/:id/participants', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  before(async () => {
    t = await startApp();
    p = await createPartner(t, 'Acme');
    other = await createPartner(t, 'Other');
  });
  after(() => t.close());

  test('lists who is in the room now; another partner gets 404', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Open room' } })).body.talk;
    const path = `/api/v1/partners/talks/${talk.id}/participants`;
    assert.deepEqual((await api(t, 'GET', path, { token: p.token })).body, { participants: [], error: null });

    const guest = await joinRoom(t, talk.short_url, 'Guest Gail');
    const now = await api(t, 'GET', path, { token: p.token });
    assert.equal(now.status, 200);
    assert.deepEqual(now.body.participants, [{ participant_id: guest.participantId, name: 'Guest Gail', role: 'listener', photo_url: null }]);

    const foreign = await api(t, 'GET', path, { token: other.token });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error.code, 'not_found');
    assert.doesNotMatch(JSON.stringify(foreign.body), /Gail/);
    assert.equal((await api(t, 'GET', path, { token: null })).status, 401);
    assert.equal((await api(t, 'GET', '/api/v1/partners/talks/00000000-0000-4000-8000-000000000000/participants', { token: p.token })).status, 404);

    // Leaving empties the list.
    const closed = once(guest.socket, 'close');
    guest.socket.send(JSON.stringify({ type: 'leave' }));
    await closed;
    assert.deepEqual((await api(t, 'GET', path, { token: p.token })).body.participants, []);
  });
});
