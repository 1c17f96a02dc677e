import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Talk } from '../platform/db/schema.js';
import { type RoomUpdateMessage, type RoomView, applyUpdate } from './protocol.js';
import { Participant, Room } from './room.js';

const talk = {
  id: 't1',
  partner_id: 'p1',
  name: 'Updates',
  room_type: 'questions',
  mic_behavior: 'start_on',
  status: 'scheduled',
  start_time: null,
  end_time: null,
} as unknown as Talk;

let next = 0;
function join(room: Room, role: 'host' | 'listener' = 'listener') {
  const p = new Participant(`u${++next}`, 'secret', role, `Person ${next}`, null, null, null, null, room.talk);
  room.participants.set(p.id, p);
  return p;
}

const view = (room: Room): RoomView => {
  const { type: _type, ...rest } = room.state();
  return JSON.parse(JSON.stringify(rest));
};

describe('room updates: a state, then only what changed', () => {
  test('each update carries only the participants that joined, changed or left, and the parts that changed', () => {
    const room = new Room(talk);
    const host = join(room, 'host');
    const first = room.update() as RoomUpdateMessage;
    assert.deepEqual(
      first.participants.map((p) => p.id),
      [host.id],
      'the first update has everyone',
    );
    assert.ok(first.talk && first.hands && first.slots, 'and the talk, hands and slots');
    assert.equal(room.update(), null, 'nothing changed: no update');

    const guest = join(room);
    const joined = room.update() as RoomUpdateMessage;
    assert.deepEqual(
      joined.participants.map((p) => p.id),
      [guest.id],
      'a join sends the one who joined',
    );
    assert.deepEqual(joined.left, []);
    assert.equal(joined.talk, undefined, 'the talk did not change');
    assert.equal(joined.hands, undefined, 'nor the hands');

    guest.handRaisedAt = Date.now();
    const raised = room.update() as RoomUpdateMessage;
    assert.deepEqual(
      raised.participants.map((p) => [p.id, p.hand_raised]),
      [[guest.id, true]],
    );
    assert.deepEqual(raised.hands, [guest.id], 'the queue changed');

    room.live = true;
    assert.equal((room.update() as RoomUpdateMessage).talk?.live, true, 'going live changes the talk');

    room.participants.delete(guest.id);
    const left = room.update() as RoomUpdateMessage;
    assert.deepEqual(left.left, [guest.id], 'a leave sends the id');
    assert.deepEqual(left.participants, []);
    assert.deepEqual(left.hands, [], 'and the queue without them');
  });

  test('a client that applies the updates to its state has the room, even when an update repeats what its state had', () => {
    const room = new Room(talk);
    const a = join(room, 'host');
    join(room);
    room.update();
    // This client joins now: its state already has c, which the next update sends again.
    const c = join(room);
    let client = view(room);
    const b = join(room);
    b.muted = true;
    c.handRaisedAt = Date.now();
    room.slots = [a.id, null, null, null];
    const u1 = room.update() as RoomUpdateMessage;
    client = applyUpdate(client, u1);
    client = applyUpdate(client, u1);
    assert.deepEqual(client, view(room), 'the same room, in the same order');

    room.participants.delete(a.id);
    c.handRaisedAt = null;
    join(room);
    room.slots = [null, null, null, null];
    client = applyUpdate(client, room.update() as RoomUpdateMessage);
    assert.deepEqual(client, view(room), 'after a leave, a join, a lowered hand and a slot change');
    assert.deepEqual(
      client.participants.map((p) => p.name),
      [...room.participants.values()].map((p) => p.name),
      'in the order they joined',
    );
  });

  test('a state is a few hundred bytes per participant, an update about one participant per join', () => {
    const room = new Room(talk);
    for (let i = 0; i < 100; i++) join(room);
    room.update();
    join(room);
    const state = JSON.stringify(room.state()).length;
    const update = JSON.stringify(room.update()).length;
    assert.ok(state > 100 * 100, `a state of 101 is ${state} bytes`);
    assert.ok(update < 400, `the update for one join is ${update} bytes`);
  });
});
