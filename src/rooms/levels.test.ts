import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WebSocket } from 'ws';
import type { Talk } from '../platform/db/schema.js';
import { recordLevels, tickLevels } from './levels.js';
import { Participant, Room } from './room.js';

const talk = { id: 't1', partner_id: 'p1', room_type: 'default', mic_behavior: 'start_on', start_time: null, end_time: null } as unknown as Talk;

test('each tick sends who is audible (then once nothing, when all fall silent), new slots to the workers and the room', () => {
  const room = new Room(talk);
  room.live = true;
  const got: { type: string; levels?: Record<string, number>; slots?: unknown }[] = [];
  // What the room writes to a socket, as it would reach the page.
  const socket = { readyState: 1, send: (text: string) => got.push(JSON.parse(text)) } as unknown as WebSocket;
  const [a, b] = ['a', 'b'].map((id) => {
    const p = new Participant(id, 's', 'listener', id, null, null, null, null, talk);
    p.hasMedia = true;
    room.participants.set(id, p);
    return p;
  });
  a.socket = socket;
  const slotsSet: (string | null)[][] = [];
  const sfu = { setSlots: (_talkId: string, slots: (string | null)[]) => void slotsSet.push([...slots]) };

  tickLevels(room, sfu);
  assert.deepEqual(got, [], 'silence: nothing to send');

  recordLevels(
    [
      ['a', 0.5],
      ['b', 0.005],
      ['gone', 0.9],
    ],
    (id) => (room.participants.has(id) ? room : undefined),
  );
  tickLevels(room, sfu);
  assert.deepEqual(got, [
    { type: 'slots', slots: ['a', null, null, null] },
    { type: 'levels', levels: { a: 0.5 } },
  ]);
  assert.deepEqual(slotsSet, [['a', null, null, null]]);

  got.length = 0;
  a.level = 0;
  b.muted = true;
  tickLevels(room, sfu);
  tickLevels(room, sfu);
  assert.deepEqual(got, [{ type: 'levels', levels: {} }], 'all silent: said once');
});
