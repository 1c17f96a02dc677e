import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Talk } from '../platform/db/schema.js';
import { RoomError } from './errors.js';
import { answerOffer } from './negotiation.js';
import { Participant, Room } from './room.js';

const talk = { id: 't1', partner_id: 'p1', room_type: 'conversation', mic_behavior: 'start_on' } as unknown as Talk;

/** An SFU whose answer comes when the test says, and the rooms' side, recording whose media was dropped. */
function setup() {
  const room = new Room(talk);
  const p = new Participant('Sam', 'secret', 'speaker', 'Sam', null, null, null, null, talk);
  room.participants.set(p.id, p);
  let answer: (sdp: string) => void = () => undefined;
  const sfu = { answer: () => new Promise<string>((resolve) => (answer = resolve)) };
  const dropped: string[] = [];
  const rooms = { dropMedia: (_room: Room, who: Participant) => void dropped.push(who.name), refresh: () => undefined };
  return { room, p, sfu, rooms, dropped, answerNow: (sdp: string) => answer(sdp) };
}

test('a participant removed while the SFU answered their offer: the peer it made is closed, and the answer refused', async () => {
  const { room, p, sfu, rooms, dropped, answerNow } = setup();
  const answered = answerOffer(sfu, rooms, room, p, 'v=0\r\n');
  p.closed = true; // removed by a host meanwhile
  answerNow('v=0 answer\r\n');
  await assert.rejects(answered, (err) => err instanceof RoomError && err.code === 'bad_request');
  assert.deepEqual(dropped, ['Sam']);
});

test('the talk closed while the SFU answered: the peer is closed, and the answer refused as ended', async () => {
  const { room, p, sfu, rooms, dropped, answerNow } = setup();
  const answered = answerOffer(sfu, rooms, room, p, 'v=0\r\n');
  room.closedAs = 'ended';
  answerNow('v=0 answer\r\n');
  await assert.rejects(answered, (err) => err instanceof RoomError && err.code === 'ended');
  assert.deepEqual(dropped, ['Sam']);
});

test('an answer to someone still in the room is theirs', async () => {
  const { room, p, sfu, rooms, dropped, answerNow } = setup();
  const answered = answerOffer(sfu, rooms, room, p, 'v=0\r\n');
  answerNow('v=0 answer\r\n');
  assert.equal(await answered, 'v=0 answer\r\n');
  assert.equal(p.hasMedia, true);
  assert.deepEqual(dropped, []);
});
