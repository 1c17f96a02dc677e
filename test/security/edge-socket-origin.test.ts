import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { RoomRefusal, RoomSocket } from '../../src/rooms/client.js';
import { CloseCode, type ServerMessage, roomSocketUrl } from '../../src/rooms/protocol.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { logIn } from '../support/session.js';
import { joinRoom } from '../support/room.js';

describe('the room socket checks Origin', () => {
  let t: TestApp;
  let p: TestPartner;
  let talk: { id: string; short_url: string };
  let cookie: string;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
    p = await createPartner(t, 'Origins');
    talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Checked' } })).body.talk;
    cookie = (await logIn(t, p)).cookie;
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });
  const roles = async () =>
    (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/participants`, { token: p.token })).body.participants.map(
      (x: { name: string; role: string }) => `${x.name}:${x.role}`,
    );

  test("another site's page with a partner's cookie is refused: an error message, then close 4003", async () => {
    const socket = new WebSocket(roomSocketUrl(talk.short_url), { headers: { origin: 'https://evil.example', cookie } });
    sockets.push(socket);
    const room = new RoomSocket(socket);
    const messages: ServerMessage[] = [];
    room.onMessage((m) => messages.push(m));
    const closed = once(socket, 'close');
    const refusal = await room.join({ name: 'Mallory' }).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof RoomRefusal, String(refusal));
    assert.equal(refusal.code, 'forbidden');
    assert.match(refusal.message, /evil\.example/);
    await closed;
    assert.deepEqual(room.closed, { code: CloseCode.refused, reason: 'origin not allowed' });
    assert.deepEqual(messages, [{ type: 'error', code: 'forbidden', message: refusal.message }], 'the error, nothing else');
    assert.deepEqual(await roles(), [], 'nobody joined');
  });

  test('our own page with the cookie hosts; a client with no Origin joins as a guest', async () => {
    const own = await joinRoom(talk.short_url, {}, { origin: new URL(t.url).origin, cookie });
    sockets.push(own.socket);
    const bot = await joinRoom(talk.short_url, { name: 'Bot' });
    sockets.push(bot.socket);
    const now = await roles();
    assert.equal(now.length, 2);
    assert.ok(now.includes('Bot:listener'), now.join(','));
    assert.ok(
      now.some((r: string) => r.endsWith(':host')),
      now.join(','),
    );
  });

  test("a partner's embed origin may open the socket, but its cookie does not make a host there", async () => {
    const headers = await logIn(t, p);
    const set = await api(t, 'PUT', `/api/v1/orgs/${p.partnerId}/settings`, { headers, json: { embed_origins: ['https://partner.example'] } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const embedded = await joinRoom(talk.short_url, { name: 'Embedded' }, { origin: 'https://partner.example', cookie });
    sockets.push(embedded.socket);
    assert.ok((await roles()).includes('Embedded:listener'));
  });
});
