import { randomInt } from 'node:crypto';

/**
 * Raw RTP as the datachannel engine handles it: libdatachannel hands the worker each decrypted packet
 * as bytes and encrypts the bytes it is given, so parsing the publisher's header and writing each
 * subscriber's copy happen here (werift's engine does both in `forward.ts` and werift's objects).
 */

/** Whether a packet on an RTP/RTCP-multiplexed track is RTCP (RFC 5761: payload types 192-223 in byte 1). */
export function isRtcp(packet: Buffer): boolean {
  return packet.length >= 2 && packet[1] >= 192 && packet[1] <= 223;
}

/** Where the payload starts and ends (after CSRCs and header extensions, before padding), or null if malformed. */
function payloadBounds(packet: Buffer): { start: number; end: number; extStart: number; extEnd: number } | null {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return null;
  let start = 12 + 4 * (packet[0] & 0x0f);
  let extStart = start;
  let extEnd = start;
  if (packet[0] & 0x10) {
    if (packet.length < start + 4) return null;
    extStart = start;
    extEnd = start + 4 + 4 * packet.readUInt16BE(start + 2);
    start = extEnd;
  }
  let end = packet.length;
  if (packet[0] & 0x20) end -= packet[packet.length - 1];
  if (start > end) return null;
  return { start, end, extStart, extEnd };
}

/**
 * The packet as forwarded: a plain 12-byte header (the publisher's header extensions, CSRCs and
 * padding dropped) and the payload, written once per received packet. Null if it is not RTP.
 */
export function strip(packet: Buffer): Buffer | null {
  const b = payloadBounds(packet);
  if (!b) return null;
  const out = Buffer.allocUnsafe(12 + b.end - b.start);
  out[0] = 0x80;
  out[1] = packet[1];
  packet.copy(out, 2, 2, 12);
  packet.copy(out, 12, b.start, b.end);
  return out;
}

/**
 * The speaking level 0..1 of a packet: the RFC 6464 audio level when the publisher sends it (extension
 * `extId`, one- or two-byte form), else from the Opus payload size (silence is a few bytes, speech tens).
 */
export function levelOf(packet: Buffer, extId: number | null): number {
  const b = payloadBounds(packet);
  if (!b) return 0;
  if (extId !== null && b.extEnd > b.extStart) {
    const profile = packet.readUInt16BE(b.extStart);
    const oneByte = profile === 0xbede;
    const twoByte = (profile & 0xfff0) === 0x1000;
    let i = b.extStart + 4;
    while ((oneByte || twoByte) && i < b.extEnd) {
      if (packet[i] === 0) {
        i++; // padding
        continue;
      }
      const id = oneByte ? packet[i] >> 4 : packet[i];
      const len = oneByte ? (packet[i] & 0x0f) + 1 : packet[i + 1];
      const data = i + (oneByte ? 1 : 2);
      if (oneByte && id === 15) break;
      if (id === extId && len > 0 && data < b.extEnd) return Math.max(0, 1 - (packet[data] & 0x7f) / 70);
      i = data + len;
    }
  }
  return Math.min(1, Math.max(0, (b.end - b.start - 10) / 90));
}

/** RTP timestamp units per ms (Opus: 48 kHz). */
const TS_PER_MS = 48;

/**
 * One receive slot of one subscriber, as the subscriber sees it: one SSRC, one payload type, one
 * sequence of numbers and timestamps whoever the slot's publisher is. When the packets' origin
 * changes (another publisher, or the same one reconnected with new numbers), the new numbers are
 * mapped to continue the slot's: next sequence number, timestamp advanced by the time elapsed.
 */
export class SlotWriter {
  readonly ssrc = randomInt(1, 0xffffffff);
  private seq = randomInt(0, 0x10000);
  private ts = randomInt(0, 0x100000000);
  private source: { from: string; ssrc: number } | null = null;
  private seqOffset = 0;
  private tsOffset = 0;
  private lastSentAt = 0;
  /** The MID header extension block (one-byte form, RFC 8285), or null without a negotiated MID extension. */
  private readonly mid: Buffer | null;

  constructor(
    private readonly payloadType: number,
    mid: string,
    midExtId: number | null,
  ) {
    if (midExtId === null || midExtId < 1 || midExtId > 14 || mid.length < 1 || mid.length > 16) {
      this.mid = null;
      return;
    }
    const bytes = Buffer.from(mid);
    const block = Buffer.alloc(4 + Math.ceil((1 + bytes.length) / 4) * 4);
    block.writeUInt16BE(0xbede, 0);
    block.writeUInt16BE((block.length - 4) / 4, 2);
    block[4] = (midExtId << 4) | (bytes.length - 1);
    bytes.copy(block, 5);
    this.mid = block;
  }

  /** The subscriber's copy of a stripped packet (see `strip`) from publisher `from`. */
  write(src: Buffer, from: string, now: number): Buffer {
    const inSeq = src.readUInt16BE(2);
    const inTs = src.readUInt32BE(4);
    const inSsrc = src.readUInt32BE(8);
    if (!this.source || this.source.from !== from || this.source.ssrc !== inSsrc) {
      const elapsed = this.source ? Math.max(20, Math.round(now - this.lastSentAt)) : 20;
      this.seqOffset = (this.seq + 1 - inSeq) & 0xffff;
      this.tsOffset = (this.ts + elapsed * TS_PER_MS - inTs) >>> 0;
      this.source = { from, ssrc: inSsrc };
    }
    const seq = (inSeq + this.seqOffset) & 0xffff;
    const ts = (inTs + this.tsOffset) >>> 0;
    const headerLength = 12 + (this.mid ? this.mid.length : 0);
    const out = Buffer.allocUnsafe(headerLength + src.length - 12);
    out[0] = 0x80 | (this.mid ? 0x10 : 0);
    out[1] = (src[1] & 0x80) | (this.payloadType & 0x7f);
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(ts, 4);
    out.writeUInt32BE(this.ssrc, 8);
    if (this.mid) this.mid.copy(out, 12);
    src.copy(out, headerLength, 12);
    // A late packet does not move the slot back.
    if (((seq - this.seq) & 0xffff) < 0x8000) {
      this.seq = seq;
      this.ts = ts;
    }
    this.lastSentAt = now;
    return out;
  }
}

/** Per m-line of an offer (in order): its MID, its first Opus payload type and its MID and audio-level extension ids. */
export interface OfferedMedia {
  mid: string;
  opus: number | null;
  midExtId: number | null;
  levelExtId: number | null;
}

export function offeredMedia(sdp: string): OfferedMedia[] {
  return sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map((section) => {
      const mid = /^a=mid:(\S+)/m.exec(section)?.[1] ?? '';
      const opus = /^a=rtpmap:(\d+) opus\//im.exec(section)?.[1];
      const midExt = /^a=extmap:(\d+)(?:\/\w+)? urn:ietf:params:rtp-hdrext:sdes:mid\s*$/m.exec(section)?.[1];
      const levelExt = /^a=extmap:(\d+)(?:\/\w+)? urn:ietf:params:rtp-hdrext:ssrc-audio-level\s*$/m.exec(section)?.[1];
      return {
        mid,
        opus: opus === undefined ? null : Number(opus),
        midExtId: midExt === undefined ? null : Number(midExt),
        levelExtId: levelExt === undefined ? null : Number(levelExt),
      };
    });
}
