import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { api } from '../support/api.js';
import { type TestApp, type TestPartner, createPartner, startApp } from '../support/app.js';
import { joinRoom, socketInbox } from '../support/room.js';
import type { LiveRooms } from '../../src/rooms/service.js';
import { waitFor } from '../support/wait.js';

describe('the lobby, and a talk edited through the API while its room is open', () => {
  let t: TestApp;
  let p: TestPartner;
  const sockets: WebSocket[] = [];
  before(async () => {
    t = await startApp({ env: { RTC_LISTEN_IP: '127.0.0.1', SFU_WORKERS: '1' } });
    p = await createPartner(t, 'Edits');
  });
  after(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
  });
  const patch = (id: string, json: Record<string, unknown>) => api(t, 'PATCH', `/api/v1/partners/talks/${id}`, { token: p.token, json });
  /** Joins the talk with `meanwhile` done after the join has read the talk, before the room opens. */
  const joinAfter = async (talk: { short_url: string }, meanwhile: () => Promise<unknown>) => {
    const talks = t.services.talks;
    const read = talks.byShortCode;
    talks.byShortCode = async (code) => {
      talks.byShortCode = read;
      const row = await read.call(talks, code);
      await meanwhile();
      return row;
    };
    try {
      return await joinRoom(talk.short_url, { name: 'Jo Joining' });
    } finally {
      talks.byShortCode = read;
    }
  };
  const status = async (id: string) => (await api(t, 'GET', `/api/v1/partners/talks/${id}`, { token: p.token })).body.talk.status;

  test('a later end_time keeps the room open past the old one; an earlier one ends it then', async () => {
    const endsAt = Date.now() + 3000;
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Running long', end_time: new Date(endsAt).toISOString() } })).body.talk;
    const guest = await joinRoom(talk.short_url, { name: 'Gwen' });
    sockets.push(guest.socket);
    const seen = socketInbox(guest.socket);
    assert.equal((await patch(talk.id, { end_time: new Date(Date.now() + 60_000).toISOString() })).status, 200);
    await new Promise((r) => setTimeout(r, endsAt - Date.now() + 1500));
    assert.equal(seen.closed(), null, 'the room is still open past the old end time');
    assert.equal(await status(talk.id), 'live');

    const shortened = Date.now() + 1000;
    await patch(talk.id, { end_time: new Date(shortened).toISOString() });
    await waitFor(() => seen.closed() !== null, 'the room to close at the new end time', 5000);
    assert.ok(Date.now() >= shortened, 'not before the new end time');
    assert.equal(seen.closed(), 4000);
    assert.ok(seen.messages.some((m) => m.type === 'ended'));
    assert.equal(await status(talk.id), 'ended');
  });

  test('a new room type reaches everyone in the room and seats the audience by its rule', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Open floor', room_type: 'default', mic_behavior: 'start_on' } })).body
      .talk;
    const guest = await joinRoom(talk.short_url, { name: 'Gus' });
    sockets.push(guest.socket);
    const seen = socketInbox(guest.socket);
    /** The guest as its socket last saw itself: listed (and how), or null (not listed: off the stage in a view of the stage). */
    const me = () => {
      let view: Record<string, unknown> | null | undefined;
      const mine = (x: Record<string, unknown>) => x.id === guest.participantId;
      for (const m of seen.messages) {
        if (m.type === 'state') view = m.participants.find(mine) ?? null;
        if (m.type === 'update') view = m.participants?.find(mine) ?? (m.left?.includes(guest.participantId) ? null : view);
      }
      return view;
    };

    // A hosted event's listener is shown its stage and counts: the guest, now a listener, is no longer listed.
    await patch(talk.id, { room_type: 'hosted_events' });
    const stage = await waitFor(() => seen.messages.find((m) => m.type === 'state' && m.talk?.room_type === 'hosted_events'), 'the stage view', 3000);
    assert.equal(me(), null, 'the guest left the stage');
    assert.deepEqual(stage.counts, { participants: 1, speakers: 0, audience: 0 });

    await patch(talk.id, { room_type: 'default' });
    await waitFor(() => me()?.can_speak === true, 'the guest back on stage in a default room', 3000);
    assert.equal(me()?.muted, false, 'start_on: the mic is live on coming up');
  });
  test('before the start: a lobby; a guest cannot start it, a host can; a start time moved nearer opens it then', async () => {
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Later today', start_time: inAnHour } })).body.talk;
    const guest = await joinRoom(talk.short_url, { name: 'Early Eve' });
    sockets.push(guest.socket);
    const seen = socketInbox(guest.socket);
    const live = () => seen.messages.filter((m) => m.talk).pop()?.talk?.live;
    guest.socket.send(JSON.stringify({ type: 'start' }));
    await waitFor(() => seen.messages.some((m) => m.type === 'error'), 'the refusal', 3000);
    assert.equal(seen.messages.find((m) => m.type === 'error')?.code, 'not_allowed');
    assert.equal(await status(talk.id), 'scheduled', 'a guest cannot start the talk');

    // Moved to a second from now: the room opens then, not an hour later. The deadline is wide (a
    // loaded machine missed a 5-s one in two fresh-clone CI runs, never alone); a miss says what the
    // room last showed and how long this process's event loop (the app's too) stood still.
    const startsAt = Date.now() + 1000;
    const stalls = monitorEventLoopDelay({ resolution: 20 });
    stalls.enable();
    await patch(talk.id, { start_time: new Date(startsAt).toISOString() });
    await waitFor(() => live() === true, 'the room to go live at the new start time', 15_000)
      .catch((err) => {
        const shown = seen.messages.filter((m) => m.talk).pop()?.talk;
        throw new Error(`${err.message}; the room last showed ${JSON.stringify(shown)}; longest event-loop stall ${Math.round(stalls.max / 1e6)} ms`);
      })
      .finally(() => stalls.disable());
    assert.ok(Date.now() >= startsAt, 'not before the new start time');
    assert.equal(await status(talk.id), 'live');

    // A start time removed: the lobby opens at once.
    const unset = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Whenever', start_time: inAnHour } })).body.talk;
    const waiting = await joinRoom(unset.short_url, { name: 'Wes Waiting' });
    sockets.push(waiting.socket);
    const waitingSeen = socketInbox(waiting.socket);
    assert.equal((await patch(unset.id, { start_time: '' })).body.talk.start_time, null);
    await waitFor(() => waitingSeen.messages.some((m) => m.talk?.live === true), 'the room to open once its start time is gone', 3000);

    // A host starts another talk early.
    const later = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Tomorrow', start_time: inAnHour } })).body.talk;
    const jt = (await api(t, 'POST', `/api/v1/partners/talks/${later.id}/join_tokens`, { token: p.token, json: { name: 'Hana Host', role: 'host' } })).body
      .join_token;
    const host = await joinRoom(later.short_url, { token: new URL(jt.join_url).hash.slice('#token='.length) });
    sockets.push(host.socket);
    const hostSeen = socketInbox(host.socket);
    assert.equal(await status(later.id), 'scheduled');
    host.socket.send(JSON.stringify({ type: 'start' }));
    await waitFor(() => hostSeen.messages.some((m) => m.talk?.live === true), 'the host to start the talk early', 3000);
    assert.equal(await status(later.id), 'live');
  });
  test('a re-read of the talks (after another node changed one) that crosses an edit made here does not undo it', async () => {
    // Scaled, a node re-reads its rooms' talks when another node announces a change. A re-read whose
    // rows were read before an edit through this node's API, and that ends after it, holds the row
    // from before the edit. Here the real read is held back until the edit has reached the room.
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Crossed', start_time: new Date(Date.now() + 3600_000).toISOString() } }))
      .body.talk;
    const guest = await joinRoom(talk.short_url, { name: 'Cal Crossed' });
    sockets.push(guest.socket);
    const seen = socketInbox(guest.socket);
    const talks = t.services.talks;
    const read = talks.byIdsForRooms;
    let edited!: () => void;
    const editApplied = new Promise<void>((resolve) => {
      edited = resolve;
    });
    talks.byIdsForRooms = async (ids) => {
      talks.byIdsForRooms = read;
      const rows = await read.call(talks, ids);
      await editApplied;
      return rows;
    };
    const reread = (t.services.live as LiveRooms).talksChangedElsewhere(p.partnerId);
    const startsAt = Date.now() + 1000;
    await patch(talk.id, { start_time: new Date(startsAt).toISOString() });
    edited();
    await reread;
    await waitFor(() => seen.messages.some((m) => m.talk?.live === true), 'the room to go live at the edited start time, not the one read before', 15_000);
    assert.equal(await status(talk.id), 'live');
  });
  test("an edit's notice that comes after a later row has reached the room does not undo it", async () => {
    // Scaled, the room can hold a later row (another node's edit, re-read) by the time this node's own
    // edit is announced to it. Here the earlier row is announced after the later one has been applied.
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'First title' } })).body.talk;
    const guest = await joinRoom(talk.short_url, { name: 'Ola Order' });
    sockets.push(guest.socket);
    const seen = socketInbox(guest.socket);
    const live = t.services.live as LiveRooms;
    const [earlier] = await t.services.talks.byIdsForRooms([talk.id]);
    assert.equal(earlier.name, 'First title');
    await patch(talk.id, { name: 'Second title' });
    await waitFor(() => seen.messages.some((m) => m.talk?.name === 'Second title'), 'the edit in the room', 3000);

    live.talkUpdated(earlier);
    assert.equal(live.roomOf(talk.id)?.talk.name, 'Second title', 'the room keeps the later row');
    // And a later edit still comes through.
    await patch(talk.id, { name: 'Third title' });
    assert.equal(live.roomOf(talk.id)?.talk.name, 'Third title');
  });
  test('an edit made while the first join opens the room, after that join read the talk, reaches the room', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Read by the join' } })).body.talk;
    const guest = await joinAfter(talk, () => patch(talk.id, { name: 'Edited meanwhile' })); // no room yet for it to reach
    sockets.push(guest.socket);
    const live = t.services.live as LiveRooms;
    await waitFor(() => live.roomOf(talk.id)?.talk.name === 'Edited meanwhile', 'the edit in the room', 3000);
  });
  test('a talk ended after a join read it, as the room opens: the join is refused as ended', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Over already' } })).body.talk;
    const end = () => api(t, 'POST', `/api/v1/partners/talks/${talk.id}/end`, { token: p.token });
    await assert.rejects(joinAfter(talk, end), /ended/);
    assert.equal((t.services.live as LiveRooms).roomOf(talk.id), undefined);
  });
  test("a join whose row is later than the room's (another node's edit, its notice not come yet) brings it to the room", async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'As first read' } })).body.talk;
    const first = await joinRoom(talk.short_url, { name: 'Fay First' });
    sockets.push(first.socket);
    const live = t.services.live as LiveRooms;
    await waitFor(() => live.roomOf(talk.id)?.talk.status === 'live', 'the room live', 3000);
    // Written as another node would, and no notice: only the next join's read brings it.
    await t.services.db.db.updateTable('talks').set({ name: 'Renamed elsewhere' }).where('id', '=', talk.id).execute();
    const second = await joinRoom(talk.short_url, { name: 'Sid Second' });
    sockets.push(second.socket);
    assert.equal(live.roomOf(talk.id)?.talk.name, 'Renamed elsewhere');
  });
  test('a write made outside the app (an older node during a rollout, SQL by hand) is counted too: a re-read takes it', async () => {
    const talk = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Before the rollout' } })).body.talk;
    const guest = await joinRoom(talk.short_url, { name: 'Rui Rollout' });
    sockets.push(guest.socket);
    const version = async () => (await t.services.talks.byIdsForRooms([talk.id]))[0].version;
    const before = await version();
    await t.services.db.db.updateTable('talks').set({ name: 'Written by hand' }).where('id', '=', talk.id).execute();
    assert.equal(await version(), before + 1, 'counted by the database');
    const live = t.services.live as LiveRooms;
    await live.talksChangedElsewhere(p.partnerId);
    assert.equal(live.roomOf(talk.id)?.talk.name, 'Written by hand');
  });
  test("a series' occurrence replaced by a new schedule, or deleted with its first talk, closes its open lobby", async () => {
    const start = new Date(Date.now() + 86_400_000);
    const series = async (name: string) => {
      const head = (await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name, start_time: start.toISOString(), schedule: 'FREQ=WEEKLY' } })).body
        .talk;
      const listed = await api(t, 'GET', `/api/v1/partners/talks?schedule_talk_id=${head.id}&limit=200`, { token: p.token });
      const first = listed.body.talks.sort((x: { start_time: string }, y: { start_time: string }) => Date.parse(x.start_time) - Date.parse(y.start_time))[0];
      assert.ok(first, 'an occurrence');
      // Its lobby, opened by a guest with its link a week early.
      const guest = await joinRoom(first.short_url, { name: 'Early Eve' });
      sockets.push(guest.socket);
      return { head, occurrence: first, seen: socketInbox(guest.socket) };
    };
    const closedAsDeleted = async (seen: ReturnType<typeof socketInbox>, why: string) => {
      await waitFor(() => seen.closed() !== null, `the occurrence's lobby to close (${why})`, 5000);
      assert.equal(seen.closed(), 4000);
      assert.ok(seen.messages.some((m) => m.type === 'ended' && m.reason === 'deleted'));
    };

    const replaced = await series('Weekly club');
    assert.equal((await patch(replaced.head.id, { schedule: 'FREQ=DAILY' })).status, 200);
    await closedAsDeleted(replaced.seen, 'replaced by the new schedule');
    assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${replaced.occurrence.id}`, { token: p.token })).status, 404);
    await assert.rejects(joinRoom(replaced.occurrence.short_url, { name: 'Late Lou' }), /not_found/);

    const removed = await series('Monthly club');
    assert.equal((await api(t, 'DELETE', `/api/v1/partners/talks/${removed.head.id}`, { token: p.token })).status, 200);
    await closedAsDeleted(removed.seen, 'deleted with its first talk');
    assert.equal((await api(t, 'GET', `/api/v1/partners/talks/${removed.occurrence.id}`, { token: p.token })).status, 404);
  });
});
