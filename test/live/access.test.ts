import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { foldLine } from '../../src/rooms/routes.js';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom, socketInbox } from '../support/room.js';
import { untilPast, waitFor } from '../support/wait.js';

/** The room's refusal of a join, as { code, message }; fails the test if the join was admitted. */
async function refused(join: Promise<unknown>): Promise<{ code: string; message: string }> {
  const outcome = await join.then(
    () => null,
    (err: Error) => JSON.parse(err.message),
  );
  assert.ok(outcome, 'the join was refused');
  return outcome;
}

describe('join links, invites, moderation and subscriptions over the real room socket and API', () => {
  let t: TestApp;
  let p: TestPartner;
  let other: TestPartner;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
    p = await createPartner(t, 'Access');
    other = await createPartner(t, 'Other');
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });
  const createTalk = async (json: Record<string, unknown>) => (await api(t, 'POST', '/api/p/talk', { token: p.token, json })).body.talk;
  const inRoom = async (talkId: string) => (await api(t, 'GET', `/api/v1/partners/talks/${talkId}/participants`, { token: p.token })).body.participants;
  const secretOf = (url: string, key: string) => new URLSearchParams(new URL(url).hash.slice(1)).get(key) as string;
  const keep = <T extends { socket: WebSocket }>(joined: T) => {
    sockets.push(joined.socket);
    return joined;
  };

  test('a join link gives its role and name until it expires; another partner gets 404', async () => {
    const talk = await createTalk({ name: 'Linked' });
    const path = `/api/v1/partners/talks/${talk.id}/join_tokens`;
    const made = await api(t, 'POST', path, {
      token: p.token,
      json: { uid: 'crm-42', name: 'Hana Host', role: 'host', expiry: new Date(Date.now() + 1500).toISOString() },
    });
    assert.equal(made.status, 200);
    assert.equal(made.body.join_token.role, 'host');
    const token = secretOf(made.body.join_token.join_url, 'token');
    const host = keep(await joinRoom(talk.short_url, { token, name: 'Not my name' }));
    assert.deepEqual(
      (await inRoom(talk.id)).map((x: Record<string, unknown>) => [x.name, x.role]),
      [['Hana Host', 'host']],
    );
    host.socket.close();
    await untilPast(made.body.join_token.expires_at);
    const late = await refused(joinRoom(talk.short_url, { token }));
    assert.equal(late.code, 'invalid_token');
    assert.equal((await refused(joinRoom(talk.short_url, { token: 'made-up' }))).code, 'invalid_token');

    for (const [method, sub] of [
      ['POST', 'join_tokens'],
      ['POST', 'invites'],
      ['GET', 'invites'],
      ['GET', 'subscriptions'],
    ]) {
      const res = await api(t, method, `/api/v1/partners/talks/${talk.id}/${sub}`, { token: other.token, json: method === 'POST' ? { name: 'X' } : undefined });
      assert.equal(res.status, 404, `${method} ${sub} of another partner's talk`);
      assert.equal(res.body.error.code, 'not_found');
    }
  });

  test('an invite admits until it is used up, revoked or expired; the list shows its uses', async () => {
    const talk = await createTalk({ name: 'Invited only', access: 'invite_only' });
    assert.equal((await refused(joinRoom(talk.short_url, { name: 'Nobody' }))).code, 'invite_required');
    const base = `/api/v1/partners/talks/${talk.id}/invites`;
    const multi = (await api(t, 'POST', base, { token: p.token, json: {} })).body.invite;
    const secret = secretOf(multi.join_url, 'invite');
    keep(await joinRoom(talk.short_url, { invite: secret, name: 'Ada' }));
    keep(await joinRoom(talk.short_url, { invite: secret, name: 'Bo' }));
    const revoked = await api(t, 'DELETE', `${base}/${multi.id}`, { token: p.token });
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.invite.revoked_at);
    assert.equal((await refused(joinRoom(talk.short_url, { invite: secret, name: 'Cy' }))).code, 'invalid_invite');
    const listed = (await api(t, 'GET', base, { token: p.token })).body.invites;
    assert.deepEqual(
      listed.map((i: Record<string, unknown>) => [i.id, i.uses, i.revoked_at !== null, 'join_url' in i]),
      [[multi.id, 2, true, false]],
      'uses counted; the secret link is shown only when made',
    );
    assert.equal((await api(t, 'DELETE', `${base}/${multi.id}`, { token: other.token })).status, 404);

    const brief = (await api(t, 'POST', base, { token: p.token, json: { expiry: new Date(Date.now() + 1000).toISOString() } })).body.invite;
    await untilPast(brief.expires_at);
    assert.equal((await refused(joinRoom(talk.short_url, { invite: secretOf(brief.join_url, 'invite'), name: 'Dee' }))).code, 'invalid_invite');
    const past = await api(t, 'POST', base, { token: p.token, json: { expiry: '2020-01-01T00:00:00Z' } });
    assert.equal(past.status, 400);
    assert.equal(past.body.error.code, 'validation_failed');
  });

  test('a host mutes and removes a guest; a guest cannot moderate', async () => {
    const talk = await createTalk({ name: 'Moderated', mic_behavior: 'start_on' });
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name: 'Mo Host', role: 'host' } })).body
      .join_token;
    const host = keep(await joinRoom(talk.short_url, { token: secretOf(jt.join_url, 'token') }));
    const guest = keep(await joinRoom(talk.short_url, { name: 'Loud Larry' }));
    const hostSeen = socketInbox(host.socket).messages;
    const guestSeen = socketInbox(guest.socket).messages;
    const view = (who: string) =>
      hostSeen
        .filter((m) => m.type === 'update')
        .flatMap((m) => m.participants ?? [])
        .filter((x: Record<string, unknown>) => x.id === who)
        .pop();

    guest.socket.send(JSON.stringify({ type: 'moderate', action: 'remove', target: host.participantId }));
    await waitFor(() => guestSeen.some((m) => m.type === 'error'), 'the refusal', 3000);
    assert.equal(guestSeen.find((m) => m.type === 'error')?.code, 'not_allowed');

    host.socket.send(JSON.stringify({ type: 'moderate', action: 'mute', target: guest.participantId }));
    await waitFor(() => view(guest.participantId)?.muted === true, 'the guest to be muted', 3000);

    const closed = once(guest.socket, 'close');
    host.socket.send(JSON.stringify({ type: 'moderate', action: 'remove', target: guest.participantId }));
    const [code] = await closed;
    assert.equal(code, 4003);
    assert.ok(
      guestSeen.some((m) => m.type === 'removed'),
      'the guest is told',
    );
    assert.deepEqual(
      (await inRoom(talk.id)).map((x: Record<string, unknown>) => x.name),
      ['Mo Host'],
    );
  });

  test('a removed join-link holder cannot come back without the link, from the same browser or the same address', async () => {
    const talk = await createTalk({ name: 'Open talk' });
    const token = async (name: string, role: string) =>
      secretOf(
        (await api(t, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name, role } })).body.join_token.join_url,
        'token',
      );
    const host = keep(await joinRoom(talk.short_url, { token: await token('Ho Host', 'host') }));
    const device = 'browser-of-sam-0123456789';
    const speaker = keep(await joinRoom(talk.short_url, { token: await token('Sam Speaker', 'speaker'), device }));
    const closed = once(speaker.socket, 'close');
    host.socket.send(JSON.stringify({ type: 'moderate', action: 'remove', target: speaker.participantId }));
    assert.equal((await closed)[0], 4003);
    // Back as a guest of this open talk, under another name: the same browser, then another browser at the same address.
    assert.equal((await refused(joinRoom(talk.short_url, { name: 'Not Sam', device }))).code, 'removed');
    assert.equal((await refused(joinRoom(talk.short_url, { name: 'Not Sam', device: 'another-browser-0123456789' }))).code, 'removed');
    // Someone else, at another address, is let in.
    keep(await joinRoom(talk.short_url, { name: 'Newcomer', device: 'newcomer-browser-0123456' }, {}, { localAddress: '127.0.0.2' }));
  });

  test('subscribers are stored once and listed; the calendar file is valid iCalendar; a talk without subscriptions refuses', async () => {
    const start = new Date('2031-03-04T18:30:00Z');
    const long = `${'A long description, with commas; and semicolons. '.repeat(4)}Ünïcödé at the end.`;
    const talk = await createTalk({ name: 'Spring, live', description: long, subscriptions_allowed: true, start_time: start.toISOString() });
    const code = new URL(talk.short_url).pathname.split('/').pop();
    for (let i = 0; i < 2; i++) {
      const res = await api(t, 'POST', `/t/${code}/subscribe`, { json: { email: 'fan@example.test', name: 'Fan' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.subscription.calendar_url, `${talk.short_url}/calendar.ics`);
    }
    const subs = (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}/subscriptions`, { token: p.token })).body.subscriptions;
    assert.deepEqual(
      subs.map((s: Record<string, unknown>) => [s.email, s.name]),
      [['fan@example.test', 'Fan']],
    );

    const ics = await fetch(`${talk.short_url}/calendar.ics`);
    assert.match(ics.headers.get('content-type') ?? '', /^text\/calendar/);
    const text = await ics.text();
    const lines = text.split('\r\n');
    assert.ok(
      lines.every((l) => Buffer.byteLength(l) <= 75),
      `every line at most 75 octets: ${lines.map((l) => Buffer.byteLength(l)).join(',')}`,
    );
    const unfolded = text.replace(/\r\n /g, '');
    assert.match(unfolded, /\r\nDTSTART:20310304T183000Z\r\n/);
    assert.match(unfolded, /\r\nSUMMARY:Spring\\, live\r\n/);
    assert.match(unfolded, /DESCRIPTION:A long description\\, with commas\\; and semicolons\./);
    assert.ok(unfolded.includes('Ünïcödé at the end.'), 'a folded line never splits a character');

    const closedTalk = await createTalk({ name: 'No list', subscriptions_allowed: false });
    const no = await api(t, 'POST', `${new URL(closedTalk.short_url).pathname}/subscribe`, { json: { email: 'fan@example.test' } });
    assert.equal(no.status, 403);
  });
});

describe('an empty live room ends after EMPTY_ROOM_TIMEOUT_SECONDS', () => {
  let t: TestApp;
  let p: TestPartner;
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', EMPTY_ROOM_TIMEOUT_SECONDS: '1' } });
    p = await createPartner(t, 'Empty');
  });
  after(() => t.close());

  test('the last one leaves: the talk ends a timeout later, not before', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Brief' } })).body.talk;
    const status = async () => (await api(t, 'GET', `/api/v1/partners/talks/${talk.id}`, { token: p.token })).body.talk.status;
    const guest = await joinRoom(talk.short_url, { name: 'Last One' });
    assert.equal(await status(), 'live');
    const closed = once(guest.socket, 'close');
    guest.socket.send(JSON.stringify({ type: 'leave' }));
    await closed;
    const leftAt = Date.now();
    await waitFor(async () => (await status()) === 'ended', 'the empty talk to end', 5000);
    assert.ok(Date.now() - leftAt >= 900, `ended ${Date.now() - leftAt} ms after the last one left`);
  });
});

test('foldLine keeps short lines and folds long ones at 75 octets', () => {
  assert.equal(foldLine('SUMMARY:short'), 'SUMMARY:short');
  const folded = foldLine(`DESCRIPTION:${'é'.repeat(80)}`);
  assert.ok(folded.split('\r\n').every((l) => Buffer.byteLength(l) <= 75));
  assert.equal(folded.replace(/\r\n /g, ''), `DESCRIPTION:${'é'.repeat(80)}`);
});

test('a join-link holder back after a restart (their page carries no link then) and removed cannot come in again with the link', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-ban-restart-'));
  const env = { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1', LIVE_CAPTIONS: 'false' };
  const first = await startApp({ env, dataDir, onDisk: true });
  let second: TestApp | null = null;
  const sockets: WebSocket[] = [];
  try {
    const p = await createPartner(first, 'Restarts');
    const talk = (await api(first, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Through a restart', recording: false } })).body.talk;
    const link = async (name: string, role: string) =>
      new URLSearchParams(
        new URL(
          (await api(first, 'POST', `/api/v1/partners/talks/${talk.id}/join_tokens`, { token: p.token, json: { name, role } })).body.join_token.join_url,
        ).hash.slice(1),
      ).get('token') as string;
    const samLink = await link('Sam Speaker', 'speaker');
    const host = await joinRoom(talk.short_url, { token: await link('Ho Host', 'host') });
    const sam = await joinRoom(talk.short_url, { token: samLink });
    sockets.push(host.socket, sam.socket);
    await first.close();
    second = await startApp({ env, dataDir, onDisk: true });
    const url = `${second.url}/t/${new URL(talk.short_url).pathname.split('/').pop()}`;
    // Back as the page comes back: the resume secret, no link.
    const hostBack = await joinRoom(url, { name: '', resume: host.resume });
    const samBack = await joinRoom(url, { name: '', resume: sam.resume });
    sockets.push(hostBack.socket, samBack.socket);
    assert.equal(samBack.participantId, sam.participantId, 'Sam came back as themselves');
    const closed = once(samBack.socket, 'close');
    hostBack.socket.send(JSON.stringify({ type: 'moderate', action: 'remove', target: samBack.participantId }));
    assert.equal((await closed)[0], 4003);
    assert.equal((await refused(joinRoom(url, { token: samLink }))).code, 'removed', 'the link is banned with them');
  } finally {
    for (const s of sockets) s.terminate();
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
