import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Talk } from '../platform/db/schema.js';
import type { TalksService } from '../talks/service.js';
import { Lifecycle, seatForRoomType, shouldBeLive } from './lifecycle.js';
import { Participant, Room } from './room.js';
import { stageUpdateDelay, updateDelay } from './updates.js';

const talkOf = (room_type: Talk['room_type'], mic_behavior: Talk['mic_behavior']) =>
  ({ id: 't1', partner_id: 'p1', room_type, mic_behavior, start_time: null, end_time: null, version: 0 }) as unknown as Talk;

describe('lifecycle', () => {
  test('a session is due with no start time, or once its start time has come', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    assert.equal(shouldBeLive({ start_time: null }, now), true);
    assert.equal(shouldBeLive({ start_time: new Date(now) }, now), true);
    assert.equal(shouldBeLive({ start_time: new Date(now + 1) }, now), false);
  });

  test('a new room type reseats everyone but hosts and speakers; off hosted_events, everyone is on WebRTC', () => {
    const before = talkOf('hosted_events', 'start_off');
    const room = new Room(before);
    const make = (id: string, role: 'host' | 'speaker' | 'listener') => {
      const p = new Participant(id, 's', role, id, null, null, null, null, before);
      room.participants.set(id, p);
      return p;
    };
    const host = make('host', 'host');
    const speaker = make('speaker', 'speaker');
    const raised = make('raised', 'listener');
    raised.handRaisedAt = 1;
    const streamed = make('streamed', 'listener');
    streamed.tier = 'audience';
    seatForRoomType(room, talkOf('default', 'start_on'));
    assert.deepEqual(
      [host, speaker, raised, streamed].map((p) => [p.id, p.onStage, p.muted, p.handRaisedAt, p.tier]),
      [
        ['host', true, false, null, 'webrtc'],
        ['speaker', true, true, null, 'webrtc'],
        ['raised', true, false, null, 'webrtc'],
        ['streamed', true, false, null, 'webrtc'],
      ],
      'default: all on stage, mics by the new rule (the speaker keeps theirs)',
    );
    seatForRoomType(room, talkOf('questions', 'start_on'));
    assert.deepEqual(
      [host, speaker, raised, streamed].map((p) => [p.id, p.onStage, p.muted]),
      [
        ['host', true, false],
        ['speaker', true, true],
        ['raised', false, true],
        ['streamed', false, true],
      ],
      'questions: listeners off stage, muted',
    );
  });

  test('going live takes only the status and start from the row; a room type edited meanwhile reseats the room through applyTalk, and the room stays live', async () => {
    const before = talkOf('default', 'start_on');
    const room = new Room(before);
    const guest = new Participant('g', 's', 'listener', 'Gus', null, null, null, null, before);
    room.participants.set('g', guest);
    // The talk was edited to hosted_events just before markLive's update: its row has the new type,
    // and the edit's notification (applyTalk) comes after.
    const edited = { ...before, room_type: 'hosted_events' } as Talk;
    let release: (row: Talk) => void = () => undefined;
    const talks = { markLive: () => new Promise<Talk>((r) => (release = r)), changed: () => undefined } as unknown as TalksService;
    const silent = { warn: () => undefined } as unknown as ConstructorParameters<typeof Lifecycle>[1];
    const lifecycle = new Lifecycle(talks, silent, {
      started: () => undefined,
      refresh: () => undefined,
      limitChanged: () => undefined,
      closeRoom: () => undefined,
    });
    const going = lifecycle.goLive(room);
    release({ ...edited, status: 'live', started_at: new Date() } as Talk);
    await going;
    assert.equal(room.talk.status, 'live');
    assert.equal(room.talk.room_type, 'default', 'the edit is not taken from the row');
    const startedAt = room.talk.started_at;
    // The edit's own row, written before markLive's, still says scheduled.
    lifecycle.applyTalk(room, { ...edited, status: 'scheduled', started_at: null, version: 1 } as Talk);
    for (const t of [room.startTimer, room.endTimer]) if (t) clearTimeout(t);
    assert.equal(room.talk.room_type, 'hosted_events');
    assert.equal(room.talk.status, 'live', 'still live: the row from before going live does not undo it');
    assert.equal(room.talk.started_at, startedAt);
    assert.equal(guest.onStage, false, 'reseated: a listener of a hosted event is off the stage');
  });

  test('a room whose talk ended before it went live (a join raced the end) starts no session and closes as ended', async () => {
    const room = new Room(talkOf('default', 'start_on'));
    room.participants.set('g', new Participant('g', 's', 'listener', 'Gus', null, null, null, null, room.talk));
    const talks = { markLive: async () => undefined } as unknown as TalksService;
    const silent = { warn: () => undefined } as unknown as ConstructorParameters<typeof Lifecycle>[1];
    const said: string[] = [];
    const lifecycle = new Lifecycle(talks, silent, {
      started: () => void said.push('started'),
      refresh: () => void said.push('refresh'),
      limitChanged: () => undefined,
      closeRoom: (talkId, reason) => void said.push(`close ${talkId} ${reason}`),
    });
    await lifecycle.goLive(room);
    assert.deepEqual(said, ['close t1 ended']);
    assert.equal(room.live, false, 'the room never went live: nothing stopped that did not start');
  });

  test('a start timer that fires a millisecond early, the clock ticking over as it re-arms, still opens the lobby', async () => {
    const start = Date.now() + 40;
    const room = new Room({ ...talkOf('default', 'start_on'), start_time: new Date(start) } as Talk);
    let opened!: () => void;
    const started = new Promise<void>((resolve) => (opened = resolve));
    const talks = { markLive: async () => ({ ...room.talk, status: 'live', started_at: new Date() }) } as unknown as TalksService;
    const silent = { warn: () => undefined } as unknown as ConstructorParameters<typeof Lifecycle>[1];
    const lifecycle = new Lifecycle(talks, silent, {
      started: () => opened(),
      refresh: () => undefined,
      limitChanged: () => undefined,
      closeRoom: () => undefined,
    });
    lifecycle.schedule(room);
    // When the timer fires, the clock reads a millisecond before the start, and the start on its next reading.
    const realNow = Date.now;
    const readings = [start - 1, start];
    const timer = room.startTimer as unknown as { _onTimeout: () => void };
    const fire = timer._onTimeout;
    timer._onTimeout = () => {
      Date.now = () => readings.shift() ?? realNow();
      try {
        fire();
      } finally {
        Date.now = realNow;
      }
    };
    let gaveUp: NodeJS.Timeout | undefined;
    await Promise.race([started, new Promise((_, reject) => (gaveUp = setTimeout(() => reject(new Error('the lobby never opened')), 2000)))]);
    clearTimeout(gaveUp);
    assert.equal(room.live, true);
  });

  test("a room's update to those who see everyone waits 50 ms, 50 ms more per 500 participants, at most 500 ms", () => {
    assert.deepEqual([0, 1, 500, 501, 1000, 2400, 4999, 100_000].map(updateDelay), [50, 50, 50, 100, 100, 250, 500, 500]);
  });

  test("the stage view's update waits 50 ms up to 100 sockets, 50 ms more per 100, at most 500 ms", () => {
    assert.deepEqual([0, 1, 100, 101, 200, 550, 999, 1000, 10_000].map(stageUpdateDelay), [50, 50, 50, 100, 100, 300, 500, 500, 500]);
  });
});
