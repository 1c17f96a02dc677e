import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import type { RTCRtpSender } from 'werift';
import { forwarded, sendForwarded } from '../../src/sfu/forward.js';

const require = createRequire(import.meta.url);
const werift = require('werift') as typeof import('werift');

type Ctx = { encryptRtp(payload: Buffer, header: InstanceType<typeof werift.RtpHeader>): Buffer };

/** werift's SRTP context that encrypts with these master keys (its sender's `srtp.localContext`). */
function context(key: Buffer, salt: Buffer, profile = 1): Ctx {
  const other = { remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(salt.length) };
  return new werift.SrtpSession({ keys: { localMasterKey: key, localMasterSalt: salt, ...other }, profile: profile as 1 }).localContext as unknown as Ctx;
}

/** A werift sender as sendForwarded sees it, with a connection that keeps what is sent. */
function fakeSender(ctx: Ctx, options: { mid?: string; extensions?: { id: number; uri: string }[] } = {}) {
  const sent: Buffer[] = [];
  const viaWerift: Buffer[] = [];
  const sender = {
    ssrc: 0x11223344,
    mid: options.mid ?? '3',
    codec: { payloadType: 109 },
    headerExtensions: options.extensions ?? [
      { id: 4, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
      { id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' },
    ],
    seqOffset: 1000,
    timestampOffset: 123456,
    sequenceNumber: undefined as number | undefined,
    ntpTimestamp: 0n,
    rtpTimestamp: 0,
    octetCount: 0,
    packetCount: 0,
    headerBytesSent: 0,
    rtcpRunning: true,
    runRtcp: async () => undefined,
    sendRtp: async (b: Buffer) => {
      viaWerift.push(b);
    },
    dtlsTransport: {
      state: 'connected',
      bytesSent: 0,
      packetsSent: 0,
      srtp: { localContext: ctx },
      iceTransport: { connection: { send: async (b: Buffer) => void sent.push(b) } },
    },
  };
  return { sender, sent, viaWerift };
}

function packet(seq: number, ts: number, payload: Buffer, marker = false) {
  const h = new werift.RtpHeader({ version: 2, payloadType: 111, sequenceNumber: seq, timestamp: ts, ssrc: 0xdeadbeef, marker });
  return new werift.RtpPacket(h, payload).serialize();
}

describe('SFU forwarding fast path', () => {
  test("writes what werift's own sender would, byte for byte, across a sequence wrap", () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const ours = context(key, salt);
    const theirs = context(key, salt);
    const { sender, sent } = fakeSender(ours);
    const mid = werift.serializeSdesMid('3');
    let checked = 0;
    // From 64,000 over the wrap at 65,535 (with the offset of 1,000 the sender adds), every payload
    // length from 1 to 200 bytes (partial and whole AES blocks).
    for (let i = 0; i < 2000; i++) {
      const payload = randomBytes(1 + (i % 200));
      const seq = (63_000 + i) & 0xffff;
      const ts = (4_294_960_000 + i * 960) >>> 0;
      sendForwarded(sender as unknown as RTCRtpSender, forwarded(packet(seq, ts, payload, i % 7 === 0)));
      const header = new werift.RtpHeader({
        version: 2,
        payloadType: 109,
        sequenceNumber: (seq + 1000) & 0xffff,
        timestamp: (ts + 123456) >>> 0,
        ssrc: 0x11223344,
        marker: i % 7 === 0,
      });
      header.extensions = [{ id: 4, payload: mid }];
      const expected = theirs.encryptRtp(payload, header);
      assert.ok(sent[i].equals(expected), `packet ${i} (seq ${seq}) differs from werift's`);
      checked++;
    }
    assert.equal(checked, 2000);
    assert.equal(sender.packetCount, 2000);
    assert.equal(sender.sequenceNumber, (63_000 + 1999 + 1000) & 0xffff);
    assert.equal(sender.dtlsTransport.packetsSent, 2000);
    assert.ok(sender.ntpTimestamp > 0n, 'the sender report time is kept');
  });

  test('a receiver with the keys decrypts it back to the forwarded payload', () => {
    const key = randomBytes(16);
    const salt = randomBytes(14);
    const { sender, sent } = fakeSender(context(key, salt), { mid: 'slot-1' });
    const payload = randomBytes(77);
    sendForwarded(sender as unknown as RTCRtpSender, forwarded(packet(5, 960, payload)));
    const remote = new werift.SrtpSession({
      keys: { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(14), remoteMasterKey: key, remoteMasterSalt: salt },
      profile: 1,
    });
    const rtp = werift.RtpPacket.deSerialize(remote.decrypt(sent[0]));
    assert.ok(rtp.payload.equals(payload), 'the payload comes back');
    assert.equal(rtp.header.sequenceNumber, 1005);
    assert.equal(rtp.header.ssrc, 0x11223344);
    assert.equal(rtp.header.payloadType, 109);
    assert.deepEqual(
      rtp.header.extensions.map((e) => [e.id, e.payload.toString()]),
      [[4, 'slot-1']],
    );
  });

  test("a sender with an extension werift writes itself, or AES-GCM, goes through werift's path", () => {
    const ctx = context(randomBytes(16), randomBytes(14));
    const twcc = fakeSender(ctx, { extensions: [{ id: 3, uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01' }] });
    sendForwarded(twcc.sender as unknown as RTCRtpSender, forwarded(packet(1, 1, randomBytes(20))));
    assert.equal(twcc.sent.length, 0);
    assert.equal(twcc.viaWerift.length, 1);
    const gcm = fakeSender(context(randomBytes(16), randomBytes(12), 7));
    sendForwarded(gcm.sender as unknown as RTCRtpSender, forwarded(packet(1, 1, randomBytes(20))));
    assert.equal(gcm.sent.length, 0);
    assert.equal(gcm.viaWerift.length, 1);
  });
});
