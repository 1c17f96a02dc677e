import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RoomError } from './errors.js';
import { parseClientMessage } from './messages.js';
import type { ClientMessage } from './protocol.js';

const parse = (value: unknown) => parseClientMessage(typeof value === 'string' ? value : JSON.stringify(value));
const refusal = (message: RegExp) => (err: unknown) => err instanceof RoomError && err.code === 'bad_request' && message.test(err.message);

describe('the room socket: what a client sends, checked', () => {
  test('every message a client may send comes out as it was sent', () => {
    const every: ClientMessage[] = [
      { type: 'join', name: 'Ada', username: 'ada', photo_url: 'https://example.com/a.png', token: 't', invite: 'i', resume: 'r', device: 'd', session: 's' },
      { type: 'offer', sdp: 'v=0\r\n' },
      { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
      { type: 'candidate', candidate: null },
      { type: 'leave' },
      { type: 'ping' },
      { type: 'mute', muted: true },
      { type: 'mute', muted: false },
      { type: 'hand', raised: true },
      { type: 'hand', raised: false },
      { type: 'react', emoji: '👏' },
      { type: 'ask', text: 'Why?' },
      { type: 'pick_question', question: 'q1' },
      { type: 'finish_question', question: 'q1' },
      { type: 'remove_question', question: 'q1' },
      { type: 'moderate', action: 'mute', target: 'p1' },
      { type: 'moderate', action: 'bring_up', target: 'p1' },
      { type: 'moderate', action: 'bring_down', target: 'p1' },
      { type: 'moderate', action: 'remove', target: 'p1' },
      { type: 'lift_ban', ban: 'b1' },
      { type: 'start' },
      { type: 'end' },
      { type: 'listen_by_stream' },
    ];
    for (const m of every) assert.deepEqual(JSON.parse(JSON.stringify(parse(m))), m, m.type);
    // Every type of the union, by the compiler: a type added to ClientMessage and not here fails to compile.
    const all: Record<ClientMessage['type'], true> = {
      join: true,
      offer: true,
      candidate: true,
      leave: true,
      ping: true,
      mute: true,
      hand: true,
      react: true,
      ask: true,
      pick_question: true,
      finish_question: true,
      remove_question: true,
      moderate: true,
      lift_ban: true,
      start: true,
      end: true,
      listen_by_stream: true,
    };
    assert.deepEqual(new Set(every.map((m) => m.type)), new Set(Object.keys(all)), 'every type of the union');
  });

  test('a join takes its strings and drops what is not one; every message drops fields it does not have', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(parse({ type: 'join', name: 'Bo', token: 42, resume: null, invite: { x: 1 } }))), { type: 'join', name: 'Bo' });
    assert.deepEqual(parse({ type: 'leave', extra: 'x'.repeat(1000) }), { type: 'leave' });
    assert.deepEqual(parse({ type: 'offer', sdp: 'v=0', admin: true }), { type: 'offer', sdp: 'v=0' });
    // An offer's id (echoed in its answer) is kept when it is an integer, dropped otherwise.
    assert.deepEqual(parse({ type: 'offer', sdp: 'v=0', id: 3 }), { type: 'offer', sdp: 'v=0', id: 3 });
    for (const id of ['3', 1.5, null, 2 ** 60]) assert.deepEqual(parse({ type: 'offer', sdp: 'v=0', id }), { type: 'offer', sdp: 'v=0' });
  });

  test('a candidate the server cannot use becomes null (ignored, as the end of candidates), never an error', () => {
    for (const candidate of [42, null, undefined, 'candidate:1', {}, { candidate: 7 }, { candidate: 'x'.repeat(1025) }]) {
      assert.deepEqual(parse({ type: 'candidate', candidate }), { type: 'candidate', candidate: null }, JSON.stringify(candidate));
    }
    assert.deepEqual(parse({ type: 'candidate', candidate: { candidate: 'c', sdpMid: 3, sdpMLineIndex: '0' } }), {
      type: 'candidate',
      candidate: { candidate: 'c', sdpMid: null, sdpMLineIndex: null },
    });
  });

  test('mute and hand read as before: anything but false mutes, a truthy raised raises', () => {
    assert.deepEqual(parse({ type: 'mute' }), { type: 'mute', muted: true });
    assert.deepEqual(parse({ type: 'mute', muted: 'no' }), { type: 'mute', muted: true });
    assert.deepEqual(parse({ type: 'hand' }), { type: 'hand', raised: false });
    assert.deepEqual(parse({ type: 'hand', raised: 1 }), { type: 'hand', raised: true });
  });

  test('malformed messages are refused with bad_request, saying what is wrong', () => {
    assert.throws(() => parse('{not json'), refusal(/^messages are JSON$/));
    assert.throws(() => parse(''), refusal(/^messages are JSON$/));
    for (const notObject of ['null', '42', '"join"', '[{"type":"join"}]']) assert.throws(() => parse(notObject), refusal(/JSON object/), notObject);
    assert.throws(() => parse({ name: 'no type' }), refusal(/^unknown message undefined$/));
    assert.throws(() => parse({ type: 'dance' }), refusal(/^unknown message dance$/));
    assert.throws(() => parse({ type: 7 }), refusal(/^unknown message 7$/));
    assert.throws(() => parse({ type: 'offer' }), refusal(/sdp/));
    assert.throws(() => parse({ type: 'offer', sdp: 12 }), refusal(/sdp/));
    assert.throws(() => parse({ type: 'react', emoji: '🦖' }), refusal(/^not a reaction this room takes$/));
    assert.throws(() => parse({ type: 'react' }), refusal(/^not a reaction this room takes$/));
    assert.throws(() => parse({ type: 'ask', text: 5 }), refusal(/^a question is 1 to 280 characters$/));
    for (const type of ['pick_question', 'finish_question', 'remove_question']) assert.throws(() => parse({ type, question: 1 }), refusal(/question/), type);
    assert.throws(() => parse({ type: 'moderate', action: 'shout', target: 'p1' }), refusal(/^unknown action$/));
    assert.throws(() => parse({ type: 'moderate', action: 'mute' }), refusal(/target/));
    assert.throws(() => parse({ type: 'lift_ban', ban: null }), refusal(/ban/));
  });
});
