import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom } from '../support/room.js';

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

    const guest = await joinRoom(talk.short_url, { name: 'Guest Gail' });
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
