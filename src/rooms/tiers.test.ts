import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Talk } from '../platform/db/schema.js';
import { Participant, Room } from './room.js';
import { admitToWebRtc, listeningTier, streamUrl, tierMessage } from './tiers.js';

const talkOf = (room_type: Talk['room_type']) =>
  ({
    id: 't1',
    partner_id: 'p1',
    short_code: 'abcdefghjk',
    stream_key: 'key',
    room_type,
    mic_behavior: 'start_off',
    start_time: null,
    end_time: null,
  }) as unknown as Talk;

let next = 0;
function join(room: Room, rule: { LIVE_STREAM: boolean; AUDIENCE_WEBRTC_LISTENERS: number }, role: 'host' | 'speaker' | 'listener' = 'listener') {
  const p = new Participant(`u${++next}`, 'secret', role, `Person ${next}`, null, null, null, null, room.talk);
  p.tier = listeningTier(rule, room, p);
  room.participants.set(p.id, p);
  return p;
}

describe('the audience tier: who hears the room through the stream', () => {
  const rule = { LIVE_STREAM: true, AUDIENCE_WEBRTC_LISTENERS: 2 };

  test('in a hosted_events talk, listeners past AUDIENCE_WEBRTC_LISTENERS on WebRTC go to the stream; hosts and speakers never', () => {
    const room = new Room(talkOf('hosted_events'));
    join(room, rule, 'host');
    join(room, rule, 'speaker');
    const tiers = [1, 2, 3, 4].map(() => join(room, rule).tier);
    assert.deepEqual(tiers, ['webrtc', 'webrtc', 'audience', 'audience']);
    assert.equal(join(room, rule, 'speaker').tier, 'webrtc', 'a speaker joining a full room');
  });

  test('a listener on WebRTC who leaves frees a place; one asking again is not counted against themselves', () => {
    const room = new Room(talkOf('hosted_events'));
    const [a, b] = [join(room, rule), join(room, rule)];
    const c = join(room, rule);
    assert.equal(c.tier, 'audience');
    assert.equal(listeningTier(rule, room, a), 'webrtc', 'a of two is not counted against themselves');
    b.closed = true;
    assert.equal(listeningTier(rule, room, c), 'webrtc', 'a place freed');
  });

  test('other room types, and a server without the stream, keep everyone on WebRTC', () => {
    for (const type of ['default', 'questions'] as const) {
      const room = new Room(talkOf(type));
      assert.deepEqual(
        [1, 2, 3].map(() => join(room, rule).tier),
        ['webrtc', 'webrtc', 'webrtc'],
        type,
      );
    }
    const off = { LIVE_STREAM: false, AUDIENCE_WEBRTC_LISTENERS: 0 };
    const room = new Room(talkOf('hosted_events'));
    assert.equal(join(room, off).tier, 'webrtc');
  });

  test('the tier message carries the stream path only while the talk is live, and is remembered as told', () => {
    const room = new Room(talkOf('hosted_events'));
    const zero = { LIVE_STREAM: true, AUDIENCE_WEBRTC_LISTENERS: 0 };
    const p = join(room, zero);
    assert.deepEqual(tierMessage(zero, room, p), { type: 'tier', tier: 'audience', hls_url: null });
    assert.equal(p.shownTier, 'audience null');
    room.live = true;
    assert.equal(streamUrl(zero, room), '/t/abcdefghjk/live/key/index.m3u8');
    assert.deepEqual(tierMessage(zero, room, p), { type: 'tier', tier: 'audience', hls_url: '/t/abcdefghjk/live/key/index.m3u8' });
    assert.equal(p.shownTier, 'audience /t/abcdefghjk/live/key/index.m3u8');
    p.tier = 'webrtc';
    tierMessage(zero, room, p);
    assert.equal(p.shownTier, 'webrtc', 'a WebRTC peer needs no stream URL');
    assert.equal(streamUrl({ LIVE_STREAM: false, AUDIENCE_WEBRTC_LISTENERS: 0 }, room), null);
  });
});

describe("a talk's own WebRTC listener limit", () => {
  const rule = { LIVE_STREAM: true, AUDIENCE_WEBRTC_LISTENERS: 200 };

  test('overrides the server default; raised, it moves listeners off the stream, first come first, but not those who chose the stream', () => {
    const room = new Room({ ...talkOf('hosted_events'), webrtc_listener_limit: 1 } as Talk);
    const [a, b, c, d] = [join(room, rule), join(room, rule), join(room, rule), join(room, rule)];
    assert.deepEqual(
      [a, b, c, d].map((p) => p.tier),
      ['webrtc', 'audience', 'audience', 'audience'],
    );
    b.streamChosen = true;
    room.talk = { ...room.talk, webrtc_listener_limit: 3 };
    admitToWebRtc(rule, room);
    assert.deepEqual(
      [a, b, c, d].map((p) => p.tier),
      ['webrtc', 'audience', 'webrtc', 'webrtc'],
    );
    // Lowered: nobody is moved off WebRTC; the next listener gets the stream.
    room.talk = { ...room.talk, webrtc_listener_limit: 0 };
    admitToWebRtc(rule, room);
    assert.deepEqual(
      [a, c, d].map((p) => p.tier),
      ['webrtc', 'webrtc', 'webrtc'],
    );
    assert.equal(join(room, rule).tier, 'audience');
  });
});
