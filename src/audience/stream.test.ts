import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveStream } from './stream.js';

const options = { partsPerSegment: 4, partTarget: 0.256, windowSegments: 2 };
const part = (n: number) => Buffer.from(`part-${n}`);

test('parts make segments; the playlist lists parts near the edge, whole segments behind, and a preload hint', () => {
  const s = new LiveStream(options, new Date('2026-12-05T10:00:00Z'));
  s.setInit(Buffer.from('init'));
  for (let i = 0; i < 6; i++) s.addPart(part(i), 0.256, new Date(Date.parse('2026-12-05T10:00:00Z') + i * 256));
  assert.deepEqual(s.edge, { msn: 1, parts: 2 });
  assert.equal(s.segment(0)?.toString(), 'part-0part-1part-2part-3');
  assert.equal(s.segment(1), null, 'a segment exists once all its parts do');
  assert.equal(s.part(1, 1)?.toString(), 'part-5');
  const text = s.playlist();
  assert.match(text, /^#EXTM3U\n/);
  assert.match(text, /#EXT-X-TARGETDURATION:2\n/);
  assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12\.0,PART-HOLD-BACK=0\.768,HOLD-BACK=6\.0\n/);
  assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
  assert.match(text, /#EXT-X-PROGRAM-DATE-TIME:2026-12-05T10:00:00.000Z\n/);
  assert.match(text, new RegExp(`#EXTINF:1.02400,\\n${s.epoch}/0.m4s\\n`));
  assert.match(text, new RegExp(`#EXT-X-PART:DURATION=0.25600,URI="${s.epoch}/1.1.m4s",INDEPENDENT=YES\\n`));
  assert.match(text, new RegExp(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${s.epoch}/1.2.m4s"\\n$`));
  assert.ok(s.isNextPart(1, 2) && !s.isNextPart(1, 3) && !s.isNextPart(2, 0));
  assert.ok(s.tooFarAhead(4) && !s.tooFarAhead(3));
});

test('the window keeps windowSegments whole segments behind the one being made', () => {
  const s = new LiveStream(options);
  for (let i = 0; i < 4 * 5 + 1; i++) s.addPart(part(i), 0.256);
  assert.match(s.playlist(), /#EXT-X-MEDIA-SEQUENCE:3\n/);
  assert.equal(s.segment(2), null);
  assert.ok(s.segment(3));
});

test('a blocking request is answered when its part is made, or false at its timeout; the end answers everyone', async () => {
  const s = new LiveStream(options);
  s.addPart(part(0), 0.256);
  assert.equal(await s.wait(0, 0, 10), true);
  const second = s.wait(0, 1, 5_000);
  const segment = s.wait(0, undefined, 5_000);
  assert.equal(await s.wait(0, 2, 20), false, 'not made in time');
  s.addPart(part(1), 0.256);
  assert.equal(await second, true);
  const later = s.wait(3, 0, 5_000);
  s.end();
  assert.equal(await segment, true, 'the last segment completes at the end');
  assert.equal(await later, true, 'the end answers requests for what will never come');
  assert.match(s.playlist(), /#EXT-X-ENDLIST\n$/);
  assert.doesNotMatch(s.playlist(), /PRELOAD-HINT/);
  assert.equal(s.segment(0)?.toString(), 'part-0part-1');
});

test('abandoned (the talk goes on, this run stopped): held requests are told to ask again, and the playlist never says it ended', async () => {
  const s = new LiveStream(options);
  s.addPart(part(0), 0.256);
  const held = s.wait(0, 1, 5_000);
  const init = s.waitForInit(5_000);
  s.abandon();
  assert.equal(await held, false, 'a held request answers "not yet" (the route says 503, Retry-After)');
  assert.equal(await init, false);
  assert.doesNotMatch(s.playlist(), /ENDLIST/);
});

test('a delta update (_HLS_skip=YES) replaces the whole segments ending CAN-SKIP-UNTIL or more before the end with one EXT-X-SKIP', () => {
  const start = Date.parse('2026-12-05T10:00:00Z');
  const s = new LiveStream({ ...options, windowSegments: 20 }, new Date(start));
  // 20 whole segments of 1.024 s and 2 parts of the 21st: 20.992 s; target 2 s, so CAN-SKIP-UNTIL 12 s.
  for (let i = 0; i < 4 * 20 + 2; i++) s.addPart(part(i), 0.256, new Date(start + i * 256));
  const full = s.playlist();
  const delta = s.playlist(true);
  for (const text of [full, delta]) {
    assert.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12\.0,/);
    assert.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/, 'the media sequence is still that of the first segment, skipped or not');
  }
  assert.doesNotMatch(full, /EXT-X-SKIP/);
  assert.match(full, new RegExp(`\\n${s.epoch}/0.m4s\\n`));
  // Segment k ends 20.992 - 1.024 (k + 1) s before the end: segments 0-7 end 12 s or more before it.
  assert.match(delta, /#EXT-X-MAP:URI="[^"]+"\n#EXT-X-SKIP:SKIPPED-SEGMENTS=8\n#EXT-X-PROGRAM-DATE-TIME:2026-12-05T10:00:08.192Z\n#EXTINF:1.02400,\n/);
  for (let msn = 0; msn < 8; msn++) assert.doesNotMatch(delta, new RegExp(`/${msn}\\.m4s\\n`));
  for (let msn = 8; msn < 20; msn++) assert.match(delta, new RegExp(`\\n${s.epoch}/${msn}\\.m4s\\n`));
  assert.equal(delta.split('\n').filter((l) => l.startsWith('#EXT-X-PART:')).length, full.split('\n').filter((l) => l.startsWith('#EXT-X-PART:')).length);
  assert.ok(delta.length < full.length, `the delta (${delta.length} bytes) is smaller than the whole playlist (${full.length})`);
  assert.match(delta, new RegExp(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${s.epoch}/20.2.m4s"\\n$`));

  const young = new LiveStream({ ...options, windowSegments: 20 });
  for (let i = 0; i < 4 * 5; i++) young.addPart(part(i), 0.256);
  assert.equal(young.playlist(true), young.playlist(), 'nothing ends 12 s before the end of a 5-s stream: nothing is skipped');
});
