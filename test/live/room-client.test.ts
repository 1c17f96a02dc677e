import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { RoomConnection, RoomRefusal } from '../../src/rooms/client.js';
import { CloseCode, type ServerMessage, isFinalClose } from '../../src/rooms/protocol.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';

/** A client of the room over real `ws` sockets, keeping each raw socket (to drop one as a network would) and everything it received. */
function client(pageUrl: string, join: Record<string, string>, resume?: string) {
  const raw: WebSocket[] = [];
  const room = new RoomConnection({ pageUrl, join, resume, open: (url) => raw[raw.push(new WebSocket(url)) - 1] });
  const seen: ServerMessage[] = [];
  const closes: number[] = [];
  room.onMessage((m) => seen.push(m));
  room.onClose((code) => closes.push(code));
  return { room, raw, seen, closes };
}

describe('the room client (src/rooms/client.ts) against a real room socket', () => {
  let t: TestApp;
  let p: TestPartner;
  const clients: RoomConnection[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', RECONNECT_GRACE_SECONDS: '30' } });
    p = await createPartner(t, 'Client');
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.close();
  });
  const createTalk = async (name: string) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name } })).body.talk;
  const hostLink = async (talkId: string) =>
    (await api(t, 'POST', `/api/v1/partners/talks/${talkId}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body.join_token
      .join_url as string;

  test('joins, sees joined then the state through its handlers, gets pong for ping, and malformed frames are refused with bad_request', async () => {
    const talk = await createTalk('Typed');
    const link = await hostLink(talk.id);
    const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token') as string;
    const host = client(link, { token });
    clients.push(host.room);
    const states: string[] = [];
    host.room.on('state', (s) => states.push(s.participants.map((x) => x.name).join(',')));
    const joined = await host.room.connect();
    assert.equal(joined.type, 'joined');
    assert.equal(joined.resumed, false);
    assert.equal(host.room.resume, joined.resume, 'the client keeps the resume secret');
    assert.equal(host.room.redirects, 0);
    await waitFor(() => states.length > 0, 'the state');
    const order = host.seen.map((m) => m.type);
    assert.ok(order.includes('joined') && order.indexOf('joined') < order.indexOf('state'), `handlers saw joined, then the state: ${order}`);
    // This join made the talk live: `joined` says how the host hears the room, and no `tier` came
    // before it (a page told twice would negotiate twice).
    assert.equal(order[0], 'joined', `joined came first: ${order}`);
    assert.ok(!order.includes('tier'), `no tier message besides joined's: ${order}`);
    assert.deepEqual(states, ['Hana Host']);

    const pong = host.room.next('pong');
    assert.equal(host.room.send({ type: 'ping' }), true);
    assert.equal((await pong).type, 'pong');

    // What no typed client can send, sent raw: the server's check (messages.ts) answers.
    const refused = host.room.next('error');
    host.raw[0].send(JSON.stringify({ type: 'moderate', action: 'shout', target: joined.participant_id }));
    assert.deepEqual(await refused, { type: 'error', code: 'bad_request', message: 'unknown action' });
    const notJson = host.room.next('error');
    host.raw[0].send('{');
    assert.equal((await notJson).message, 'messages are JSON');
    assert.deepEqual(host.closes, [], 'the socket stays open');
  });

  test('a refused join rejects with the room’s code, and handlers saw its error', async () => {
    const talk = await createTalk('Refused');
    const bad = client(talk.short_url, { token: 'made-up' });
    const err = await bad.room.connect().then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof RoomRefusal, String(err));
    assert.equal(err.code, 'invalid_token');
    assert.equal(bad.seen.at(-1)?.type, 'error');
    bad.room.close();
  });

  test('after a drop it comes back as the same participant with its resume secret; a second socket of the same participant replaces the first (4001, final)', async () => {
    const talk = await createTalk('Dropped');
    const guest = client(talk.short_url, { name: 'Gwen' });
    clients.push(guest.room);
    const first = await guest.room.connect();
    guest.raw[0].terminate();
    await waitFor(() => guest.closes.length > 0, 'the close of the dropped socket');
    assert.equal(isFinalClose(guest.closes[0]), false, `a drop (${guest.closes[0]}) is not final: come back`);
    const back = await guest.room.connect();
    assert.equal(back.resumed, true);
    assert.equal(back.participant_id, first.participant_id, 'the same participant');
    assert.equal(guest.raw.length, 2);

    // The page reloaded in another tab with the same secret: the older socket is replaced.
    const tab = client(talk.short_url, { name: 'Gwen' }, guest.room.resume as string);
    clients.push(tab.room);
    assert.equal((await tab.room.connect()).participant_id, first.participant_id);
    await waitFor(() => guest.closes.length > 1, 'the replaced socket to close');
    assert.equal(guest.closes[1], CloseCode.replaced);
    assert.equal(isFinalClose(CloseCode.replaced), true);
  });

  test('a host ending the talk: everyone gets ended, then the close 4000 (final)', async () => {
    const talk = await createTalk('Ending');
    const link = await hostLink(talk.id);
    const host = client(link, { token: new URLSearchParams(new URL(link).hash.slice(1)).get('token') as string });
    const guest = client(talk.short_url, { name: 'Gus' });
    clients.push(host.room, guest.room);
    await host.room.connect();
    await guest.room.connect();
    const ended = guest.room.next('ended');
    host.room.send({ type: 'end' });
    assert.equal((await ended).reason, 'ended');
    await waitFor(() => guest.closes.length > 0 && host.closes.length > 0, 'both sockets to close');
    assert.deepEqual([guest.closes, host.closes], [[CloseCode.ended], [CloseCode.ended]]);
    assert.equal(isFinalClose(CloseCode.ended), true);
  });
});
