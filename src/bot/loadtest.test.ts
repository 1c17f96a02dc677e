import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concealmentBetween, summarize } from './loadtest.js';
import { emptyReport, type ParticipantReport } from './participant.js';

const report = (over: Partial<ParticipantReport>): ParticipantReport => ({
  ...emptyReport(),
  participantId: 'p',
  role: 'listener',
  joinMs: 100,
  packetsReceived: 500,
  decoding: true,
  startedAtMs: 0,
  tier: 'webrtc',
  ...over,
});

test('concealment between two instants comes from the decoding listeners samples on both sides', () => {
  // 1,000 samples a second; 480 concealed between 2 s and 3 s, 48,000 after 4 s (the speaker left).
  const timeline: [number, number, number][] = [
    [1000, 0, 1000],
    [2000, 0, 2000],
    [3000, 480, 3000],
    [4000, 480, 4000],
    [5000, 48480, 52000],
  ];
  const decoding = report({ concealmentTimeline: timeline, concealedSamples: 48480, totalSamples: 52000 });
  const light = report({
    decoding: false,
    concealmentTimeline: [
      [1000, 0, 1000],
      [4000, 4000, 4000],
    ],
    concealedSamples: 4000,
    totalSamples: 4000,
  });
  assert.equal(concealmentBetween([decoding, light], 1500, 4500), 480 / 2000, 'the window 2 s..4 s holds 480 of 2,000 samples');
  assert.equal(concealmentBetween([decoding, light], 3000, 4000), 0, 'nothing concealed between 3 s and 4 s');
  assert.equal(concealmentBetween([decoding], 6000, 7000), null, 'no samples in the window');
  const whole = summarize([decoding, light]);
  assert.equal(whole.concealment, 48480 / 52000, 'the whole stay counts only the decoding listener');
  assert.equal(whole.fractionReceiving, 1, 'both received packets');
  // A listener the server put on the stream holds no peer: counted apart, not as one that hears nothing.
  const onStream = report({ tier: 'audience', packetsReceived: 0 });
  const silent = report({ packetsReceived: 0 });
  const mixed = summarize([decoding, onStream, silent]);
  assert.equal(mixed.onStream, 1);
  assert.equal(mixed.fractionReceiving, 1 / 2, 'one of the two listeners on WebRTC received packets');
});
