import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newTapStart, OPUS_SILENCE, RtpTap, resumedTapStart, TAP_GAP_MS, TAP_MAX_AHEAD_MS } from './tap.js';

interface Sent {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

function sink() {
  const sent: Sent[] = [];
  return {
    sent,
    send(b: Buffer, cb?: () => void) {
      sent.push({ pt: b[1] & 0x7f, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: b.subarray(12) });
      cb?.();
    },
  };
}

/** A publisher packet as the worker strips it: a 12-byte header and an Opus payload. */
function packet(seq: number, ts: number, ssrc = 0x1234): Buffer {
  const b = Buffer.alloc(12 + 3);
  b[0] = 0x80;
  b[1] = 100;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  b.set([1, 2, 3], 12);
  return b;
}

const step = (a: number, b: number, mod: number) => (b - a + mod) % mod;

test('a tap re-stamps the publisher packets with its own continuous numbers and payload type', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 0);
  const original = packet(65534, 0xffffff00);
  for (let i = 0; i < 4; i++) tap.forward(i === 0 ? original : packet(65534 + i, 0xffffff00 + 960 * i), 20 * i);
  assert.equal(original[1], 100, 'the shared packet is not changed');
  assert.equal(out.sent.length, 4);
  for (const s of out.sent) assert.equal(s.pt, 111);
  for (let i = 1; i < 4; i++) {
    assert.equal(step(out.sent[i - 1].seq, out.sent[i].seq, 0x10000), 1);
    assert.equal(step(out.sent[i - 1].ts, out.sent[i].ts, 2 ** 32), 960);
    assert.equal(out.sent[i].ssrc, out.sent[0].ssrc);
  }
});

test('a silent publisher is filled with 20 ms silence frames at wall-clock pace, and resumes after them', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 0);
  tap.forward(packet(10, 1000), 0);
  assert.equal(tap.fill(TAP_GAP_MS - 1), 0, 'a short pause (jitter) is not filled');
  // A 20 s mute: the worker ticks every 20 ms.
  let frames = 0;
  for (let t = 20; t <= 20_000; t += 20) frames += tap.fill(t);
  assert.ok(frames >= 995 && frames <= 1000, `${frames} frames of silence for 20 s`);
  const silence = out.sent.slice(1);
  for (const s of silence) assert.deepEqual(s.payload, OPUS_SILENCE);
  // The publisher comes back with numbers of its own (a reconnect: another SSRC, a jump).
  tap.forward(packet(40_000, 99_999, 0x9999), 20_010);
  tap.forward(packet(40_001, 99_999 + 960, 0x9999), 20_030);
  const all = out.sent;
  for (let i = 1; i < all.length; i++) {
    assert.equal(step(all[i - 1].seq, all[i].seq, 0x10000), 1, `sequence continuous at ${i}`);
    assert.equal(step(all[i - 1].ts, all[i].ts, 2 ** 32), 960, `timestamp continuous at ${i}`);
    assert.equal(all[i].ssrc, all[0].ssrc);
  }
  // The stream's length in RTP time matches the wall clock to within a frame.
  const spanMs = step(all[0].ts, all.at(-1)?.ts ?? 0, 2 ** 32) / 48;
  assert.ok(Math.abs(spanMs - 20_030) <= 40, `${spanMs} ms of stream for 20,030 ms of talk`);
});

test('a late packet keeps its place and does not move the stream back; close sends one more in sequence', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 0);
  tap.forward(packet(1, 960), 0);
  tap.forward(packet(3, 3 * 960), 40);
  tap.forward(packet(2, 2 * 960), 45);
  const [a, b, c] = out.sent;
  assert.equal(step(a.seq, c.seq, 0x10000), 1);
  assert.equal(step(a.seq, b.seq, 0x10000), 2);
  let closed = false;
  tap.close(() => {
    closed = true;
  });
  assert.ok(closed);
  const last = out.sent.at(-1);
  assert.equal(step(b.seq, last?.seq ?? 0, 0x10000), 1);
  assert.equal(step(b.ts, last?.ts ?? 0, 2 ** 32), 960);
  tap.forward(packet(4, 4 * 960), 60);
  assert.equal(tap.fill(10_000), 0);
  assert.equal(out.sent.length, 4, 'nothing after close');
});

test('a tap fills from its creation when the publisher has not sent yet', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 1000);
  assert.equal(tap.fill(1100), 0);
  assert.equal(tap.fill(1000 + TAP_GAP_MS), TAP_GAP_MS / 20);
});

test('a burst of late packets after a stall does not put the stream ahead of the clock (it used to add the stall twice)', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 0);
  // The publisher's packets as they are sent, 20 ms apart; `arrive` delivers them at `now`.
  let next = 0;
  const arrive = (now: number) => {
    tap.forward(packet(next, 960 * next), now);
    next++;
  };
  /** Stream time sent so far (RTP time of the newest packet from the first, plus its 20 ms). */
  const streamMs = () => step(out.sent[0].ts, out.sent.at(-1)?.ts ?? 0, 2 ** 32) / 48 + 20;
  let now = 0;
  let worstAheadMs = Number.NEGATIVE_INFINITY;
  const tick = () => {
    tap.fill(now);
    worstAheadMs = Math.max(worstAheadMs, streamMs() - now);
  };
  // Three times: 5 s in real time, then a 1.5 s stall (nothing arrives, the clock ticks on and the
  // tap sends silence through it), then the 75 packets of the stall at once, as a publisher that
  // catches up (the bot's audio timer, a jittery network, this thread descheduled) sends them.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 250; i++, now += 20) {
      arrive(now);
      tick();
    }
    for (let i = 0; i < 75; i++, now += 20) tick();
    for (let i = 0; i < 75; i++) arrive(now);
    tick();
  }
  for (let i = 0; i < 250; i++, now += 20) {
    arrive(now);
    tick();
  }
  const sent = out.sent;
  for (let i = 1; i < sent.length; i++) {
    assert.equal(step(sent[i - 1].seq, sent[i].seq, 0x10000), 1, `sequence continuous at ${i}`);
    assert.equal(step(sent[i - 1].ts, sent[i].ts, 2 ** 32), 960, `timestamp continuous at ${i}`);
  }
  // Before, the stream ran 4.5 s ahead here (each stall once as silence and once as late audio).
  assert.ok(worstAheadMs <= TAP_MAX_AHEAD_MS + 20, `the stream ran ${worstAheadMs} ms ahead of the clock`);
  assert.ok(Math.abs(streamMs() - now) <= TAP_MAX_AHEAD_MS + 20, `${streamMs()} ms of stream for ${now} ms of talk`);
  // The publisher's live packets after each burst are taken again: the last 5 s are all its own.
  const publisherFrames = sent.slice(-250).filter((s) => !s.payload.equals(OPUS_SILENCE)).length;
  assert.ok(publisherFrames >= 240, `${publisherFrames} of the last 250 frames are the publisher's`);
});

test('jitter shorter than the gap passes through: no packet dropped, no silence added', () => {
  const out = sink();
  const tap = new RtpTap(out, 111, 0);
  // 10 s of packets, every tenth 150 ms late (its successors bunched behind it).
  let now = 0;
  for (let i = 0; i < 500; i++) {
    const due = i * 20;
    const at = i % 10 === 5 ? due + 150 : due;
    now = Math.max(now, at);
    tap.fill(now);
    tap.forward(packet(i, 960 * i), now);
  }
  assert.equal(out.sent.length, 500);
  assert.ok(out.sent.every((s) => !s.payload.equals(OPUS_SILENCE)));
});

test('a tap made again in a new media process goes on with the same SSRC, forward in sequence and time, at wall-clock pace', () => {
  // The first run: 10 s of a publisher's 20 ms packets, then the process dies.
  const first = newTapStart();
  const before = sink();
  const a = new RtpTap(before, 111, 0, first);
  for (let i = 0; i < 500; i++) a.forward(packet(i, 960 * i), 20 * i);
  const last = before.sent[before.sent.length - 1] as Sent;
  // Made again 10.7 s after the first (the process was started again meanwhile), in a process whose clock reads 50.
  const after = sink();
  const b = new RtpTap(after, 111, 50, resumedTapStart(first, 10_700));
  b.forward(packet(7, 123_456, 0x9999), 50);
  b.forward(packet(8, 123_456 + 960, 0x9999), 70);
  const [x, y] = after.sent as [Sent, Sent];
  assert.equal(x.ssrc, last.ssrc, 'one stream for the reader');
  const seqStep = step(last.seq, x.seq, 0x10000);
  assert.ok(seqStep > 0 && seqStep < 3000, `the sequence goes forward, as a loss (${seqStep})`);
  const gapMs = step(last.ts, x.ts, 2 ** 32) / 48;
  // The old stream ended at 9.98 s of its time; the new one resumes past 10.7 s, no more than TAP_MAX_AHEAD_MS further.
  assert.ok(gapMs >= 10_700 - 9_980 && gapMs <= 10_700 - 9_980 + TAP_MAX_AHEAD_MS + 40, `the timestamp jumps by the time the tap was away (${gapMs} ms)`);
  assert.equal(step(x.seq, y.seq, 0x10000), 1);
  assert.equal(step(x.ts, y.ts, 2 ** 32), 960);
  // The resumed stream keeps to the clock of its new process: 220 ms after it was made, with 40 ms
  // of packets sent, the publisher's silence is filled with 180 ms, and no more at the same instant.
  assert.equal(b.fill(50 + 220), 9);
  assert.equal(b.fill(50 + 220), 0);
});
