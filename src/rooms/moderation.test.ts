import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { Talk } from '../platform/db/schema.js';
import { RoomError } from './errors.js';
import { Moderation, type RoomAction, type RoomControl } from './moderation.js';
import type { RoomsRepository } from './repository.js';
import { Participant, Room } from './room.js';

const talkOf = (room_type: Talk['room_type'], mic_behavior: Talk['mic_behavior'] = 'start_off') =>
  ({ id: 't1', partner_id: 'p1', short_code: 'abcdefghjk', stream_key: 'key', room_type, mic_behavior, start_time: null, end_time: null }) as unknown as Talk;

/** The rooms' side, as it is asked: what was refreshed, whose media dropped, who went live. */
function rooms() {
  const calls: string[] = [];
  const control: RoomControl = {
    refresh: () => void calls.push('refresh'),
    dropMedia: (_room, p) => void calls.push(`drop ${p.name}`),
    leave: (_room, p) => void calls.push(`leave ${p.name}`),
    goLive: async () => void calls.push('live'),
    endTalk: async () => void calls.push('end'),
  };
  return { calls, control };
}

// The decisions below never reach storage (bans and questions do: test/live covers them on a real database).
const noStorage = null as unknown as RoomsRepository;
const log = pino({ level: 'silent' });

function roomWith(talk: Talk, ...people: ['host' | 'speaker' | 'listener', string][]) {
  const room = new Room(talk);
  const by: Record<string, Participant> = {};
  for (const [role, name] of people) {
    const p = new Participant(name, 'secret', role, name, null, null, null, null, talk);
    room.participants.set(p.id, p);
    by[name] = p;
  }
  return { room, by };
}

const refusal = (code: RoomError['code']) => (err: unknown) => err instanceof RoomError && err.code === code;

describe('moderation: who may do what', () => {
  const rule = { LIVE_STREAM: true, AUDIENCE_WEBRTC_LISTENERS: 200 };

  test("only hosts start, end, moderate and lift bans; a listener's refusals change nothing", async () => {
    const { calls, control } = rooms();
    const mod = new Moderation(noStorage, log, rule, control);
    const { room, by } = roomWith(talkOf('hosted_events'), ['host', 'Hana'], ['listener', 'Lee']);
    const hostsOnly: RoomAction[] = [{ type: 'start' }, { type: 'end' }, { type: 'lift_ban', ban: 'x' }, { type: 'moderate', action: 'mute', target: 'Hana' }];
    for (const msg of hostsOnly) {
      await assert.rejects(mod.act(room, by.Lee, msg), refusal('not_allowed'), msg.type);
    }
    await assert.rejects(mod.act(room, by.Lee, { type: 'mute', muted: false }), refusal('not_allowed'), 'a listener off stage cannot unmute');
    await assert.rejects(mod.act(room, by.Hana, { type: 'hand', raised: true }), refusal('not_allowed'), 'who can speak raises no hand');
    await assert.rejects(mod.act(room, by.Hana, { type: 'moderate', action: 'remove', target: 'Hana' }), refusal('not_allowed'), 'hosts cannot be removed');
    await assert.rejects(mod.act(room, by.Hana, { type: 'moderate', action: 'bring_down', target: 'Hana' }), refusal('not_allowed'), 'hosts stay on stage');
    await assert.rejects(mod.act(room, by.Hana, { type: 'moderate', action: 'mute', target: 'nobody' }), refusal('not_found'));
    // An unknown action, reaction or message never gets here: messages.ts refuses it (messages.test.ts).
    await assert.rejects(mod.act(room, by.Hana, { type: 'listen_by_stream' }), refusal('not_allowed'), 'on stage: WebRTC');
    await assert.rejects(
      new Moderation(noStorage, log, { ...rule, LIVE_STREAM: false }, control).act(room, by.Lee, { type: 'listen_by_stream' }),
      refusal('not_allowed'),
    );
    assert.deepEqual(calls, []);
    assert.equal(by.Lee.handRaisedAt, null);
    assert.equal(by.Lee.muted, true);

    await mod.act(room, by.Hana, { type: 'start' });
    await mod.act(room, by.Hana, { type: 'end' });
    assert.deepEqual(calls, ['live', 'end']);
  });

  test('a hand raised keeps its time; a host brings its owner up (mic by the talk rule) and down again', async () => {
    const { calls, control } = rooms();
    const mod = new Moderation(noStorage, log, rule, control);
    const { room, by } = roomWith(talkOf('hosted_events', 'start_on'), ['host', 'Hana'], ['listener', 'Lee']);
    await mod.act(room, by.Lee, { type: 'hand', raised: true });
    const raisedAt = by.Lee.handRaisedAt;
    assert.ok(raisedAt);
    await mod.act(room, by.Lee, { type: 'hand', raised: true });
    assert.equal(by.Lee.handRaisedAt, raisedAt, 'raising again keeps the place in line');
    await mod.act(room, by.Hana, { type: 'moderate', action: 'bring_up', target: 'Lee' });
    assert.equal(by.Lee.canSpeak, true);
    assert.equal(by.Lee.muted, false, 'start_on: their mic is on');
    assert.equal(by.Lee.handRaisedAt, null);
    await mod.act(room, by.Hana, { type: 'moderate', action: 'bring_down', target: 'Lee' });
    assert.equal(by.Lee.canSpeak, false);
    assert.equal(by.Lee.muted, true);
    assert.equal(by.Lee.tier, 'webrtc', 'under the threshold: still on WebRTC');
    assert.deepEqual(calls, ['refresh', 'refresh', 'refresh', 'refresh']);
  });

  test('brought down past the WebRTC listeners, a listener goes to the stream and their peer connection closes', () => {
    const { calls, control } = rooms();
    const mod = new Moderation(noStorage, log, { LIVE_STREAM: true, AUDIENCE_WEBRTC_LISTENERS: 1 }, control);
    const { room, by } = roomWith(talkOf('hosted_events'), ['host', 'Hana'], ['listener', 'Lee'], ['listener', 'Kim']);
    mod.bringUp(room, by.Kim);
    mod.bringDown(room, by.Kim);
    assert.equal(by.Kim.tier, 'audience');
    assert.deepEqual(calls, ['drop Kim']);
  });

  test('in a questions room one listener is on stage at a time', () => {
    const { calls, control } = rooms();
    const mod = new Moderation(noStorage, log, rule, control);
    const { room, by } = roomWith(talkOf('questions'), ['host', 'Hana'], ['speaker', 'Sam'], ['listener', 'Lee'], ['listener', 'Kim']);
    mod.bringUp(room, by.Lee);
    mod.bringUp(room, by.Kim);
    assert.deepEqual(
      [...room.participants.values()].filter((p) => p.canSpeak).map((p) => p.name),
      ['Hana', 'Sam', 'Kim'],
    );
    assert.deepEqual(calls, []);
  });
});
