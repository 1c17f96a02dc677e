import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRtcp, levelOf, offeredMedia, SlotWriter, strip } from './dc-rtp.js';

/** An RTP packet with a one-byte-header extension block (id 1: audio level, id 4: MID "0"). */
function rtp(seq: number, ts: number, ssrc: number, payload: Buffer, dbov = 30): Buffer {
  const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0x80 | dbov, 0x40, 0x30]);
  const h = Buffer.alloc(12);
  h[0] = 0x90;
  h[1] = 0x80 | 111;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(ts, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, ext, payload]);
}

test('strip keeps a 12-byte header (marker, payload type, numbers, SSRC) and the payload only', () => {
  const out = strip(rtp(7, 960, 1234, Buffer.from('opus')));
  assert.ok(out);
  assert.equal(out.length, 16);
  assert.equal(out[0], 0x80);
  assert.equal(out[1], 0x80 | 111);
  assert.equal(out.readUInt16BE(2), 7);
  assert.equal(out.readUInt32BE(8), 1234);
  assert.equal(out.subarray(12).toString(), 'opus');
  assert.equal(strip(Buffer.from([1, 2, 3])), null);
});

test('levelOf reads the RFC 6464 level, else the payload size', () => {
  assert.equal(levelOf(rtp(1, 0, 1, Buffer.alloc(5), 0), 1), 1);
  assert.ok(Math.abs(levelOf(rtp(1, 0, 1, Buffer.alloc(5), 35), 1) - 0.5) < 1e-9);
  assert.equal(levelOf(rtp(1, 0, 1, Buffer.alloc(55), 127), null), 0.5);
});

test('isRtcp tells RTCP from RTP on a multiplexed track', () => {
  assert.equal(isRtcp(Buffer.from([0x80, 200, 0, 6])), true);
  assert.equal(isRtcp(rtp(1, 0, 1, Buffer.alloc(3))), false);
});

test('a slot keeps its SSRC and payload type, writes its MID, and continues its numbers when the publisher changes', () => {
  const slot = new SlotWriter(109, '2', 4);
  const a1 = slot.write(strip(rtp(100, 5000, 1, Buffer.from('a')))!, 'alice', 0);
  const a2 = slot.write(strip(rtp(101, 5960, 1, Buffer.from('b')))!, 'alice', 20);
  assert.equal(a1.readUInt32BE(8), slot.ssrc);
  assert.equal(a1[1] & 0x7f, 109);
  assert.equal(a1[0] & 0x10, 0x10, 'an extension block');
  assert.deepEqual([...a1.subarray(12, 20)], [0xbe, 0xde, 0, 1, 0x40, 0x32, 0, 0], 'MID "2" with extension id 4');
  assert.equal(a1.subarray(20).toString(), 'a');
  assert.equal((a2.readUInt16BE(2) - a1.readUInt16BE(2)) & 0xffff, 1);
  assert.equal((a2.readUInt32BE(4) - a1.readUInt32BE(4)) >>> 0, 960);
  // Bob takes the slot 500 ms later with numbers of his own: the slot's continue from Alice's.
  const b1 = slot.write(strip(rtp(40000, 123, 2, Buffer.from('c')))!, 'bob', 520);
  assert.equal(b1.readUInt32BE(8), slot.ssrc);
  assert.equal((b1.readUInt16BE(2) - a2.readUInt16BE(2)) & 0xffff, 1);
  assert.equal((b1.readUInt32BE(4) - a2.readUInt32BE(4)) >>> 0, 500 * 48);
  const b2 = slot.write(strip(rtp(40001, 1083, 2, Buffer.from('d')))!, 'bob', 540);
  assert.equal((b2.readUInt32BE(4) - b1.readUInt32BE(4)) >>> 0, 960);
});

test('offeredMedia reads each m-line: MID, Opus payload type, MID and audio-level extension ids', () => {
  const sdp = [
    'v=0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=rtpmap:111 opus/48000/2',
    'm=audio 9 UDP/TLS/RTP/SAVPF 109',
    'a=mid:1',
    'a=rtpmap:109 OPUS/48000/2',
    '',
  ].join('\r\n');
  assert.deepEqual(offeredMedia(sdp), [
    { mid: '0', opus: 111, midExtId: 4, levelExtId: 1 },
    { mid: '1', opus: 109, midExtId: null, levelExtId: null },
  ]);
});
