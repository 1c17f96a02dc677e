import { randomInt } from 'node:crypto';

/** One 20 ms Opus frame of silence (RFC 6716 TOC 0xF8: CELT FB 20 ms, mono). */
export const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
/** RTP timestamp units of one 20 ms Opus frame (48 kHz clock). */
const FRAME_TS = 960;
const FRAME_MS = 20;
/** A publisher silent this long is filled with silence (mute, a dropped network, a replaced track). */
export const TAP_GAP_MS = 200;
/** At most this much silence is sent in one go (a stalled thread catches up over several ticks). */
const MAX_FILL_FRAMES = 50;
/**
 * How far the stream may run ahead of the wall clock (network jitter on the packet a stream resumes
 * with puts it ahead by that much). A publisher packet that would take it further is dropped.
 */
export const TAP_MAX_AHEAD_MS = 200;

/**
 * Where a tap's stream starts: its SSRC, the sequence number and timestamp taken as already sent,
 * and how much of its time has passed. A new tap starts at random numbers and 0 ms; one made again
 * in a media process started after a crash (`resumedTapStart`) goes on with the same SSRC and its
 * timeline, so the reader sees one stream with a short gap rather than a new one.
 */
export interface TapStart {
  ssrc: number;
  seq: number;
  ts: number;
  elapsedMs: number;
}

export function newTapStart(): TapStart {
  return { ssrc: randomInt(1, 0xffffffff), seq: randomInt(0, 0x10000), ts: randomInt(0, 0x100000000), elapsedMs: 0 };
}

/**
 * The tap started as `first`, `elapsedMs` later, in a new media process. Its timestamp is placed
 * at the wall clock plus `TAP_MAX_AHEAD_MS` (the furthest the old stream can have run ahead), so it
 * never goes back; the reader's resampler fills the gap with silence. Its sequence number is placed
 * past the packets the old stream can have sent (one per 20 ms frame) and a margin: an RTP reader
 * takes a forward jump as loss (a very large one costs it one packet while it resynchronises).
 */
export function resumedTapStart(first: TapStart, elapsedMs: number): TapStart {
  const ms = elapsedMs + TAP_MAX_AHEAD_MS;
  return {
    ssrc: first.ssrc,
    seq: (first.seq + Math.ceil(ms / FRAME_MS) + 100) & 0xffff,
    ts: (first.ts + Math.round(ms * 48)) >>> 0,
    elapsedMs: ms,
  };
}

/** Where a tap's packets go: a connected UDP socket (`send(buffer)`). */
export interface TapSink {
  send(packet: Buffer, callback?: () => void): void;
}

/**
 * A copy of one speaker's RTP for a local reader (the recorder's or the captioner's ffmpeg), as one
 * continuous stream whatever the speaker does.
 *
 * Why: an RTP reader sees only what we send. A speaker who mutes sends nothing, and ffmpeg's SDP
 * input gives up after ~10 s without a packet: the capture ended there and everything said after
 * the unmute was lost (recording, transcript and captions). A speaker who reconnects or replaces
 * their microphone comes back with new sequence numbers, timestamps and SSRC, which a reader takes
 * for a jump or another stream. So a tap
 * - stamps its own SSRC, sequence numbers and timestamps: the publisher's are mapped by an offset
 *   that is fixed while packets flow (their spacing and order kept) and set again after every gap;
 * - sends 20 ms Opus silence frames, paced by the clock, whenever the publisher has been silent for
 *   `TAP_GAP_MS`, so the reader's timeline keeps running at wall-clock speed through the gap: muted
 *   time is silence in the recording, and what follows lands at its true time;
 * - never runs ahead of the wall clock by more than `TAP_MAX_AHEAD_MS`: a publisher whose packets
 *   come in a burst after a stall (its own, the network's, or this thread's: a loaded machine) would
 *   otherwise add the stall twice, once as the silence sent through it and again as the late audio
 *   appended after it, and the reader's file would last longer than the talk (5.2 s in 30 s once,
 *   under load 54), so a track placed by its start ran past the end of a recording cut by a crash.
 *   The late packets whose time the silence already covered are dropped instead.
 */
export class RtpTap {
  private readonly ssrc: number;
  /** Sequence number and timestamp of the newest packet sent. */
  private seq: number;
  private ts: number;
  /** Publisher → tap offsets; null until the first packet and after each gap. */
  private offsets: { seq: number; ts: number } | null = null;
  /** Clock time of the stream's time 0 (the tap's creation, or its first run's for a resumed one). */
  private readonly origin: number;
  /** How much stream time (ms) has been sent: where the newest packet sent ends. */
  private streamMs: number;
  /** When the publisher last sent a packet (or the tap was created). */
  private heardAt: number;
  private filling = false;
  private closed = false;

  constructor(
    private readonly sink: TapSink,
    private readonly payloadType: number,
    now: number,
    start: TapStart = newTapStart(),
  ) {
    this.ssrc = start.ssrc;
    this.seq = start.seq;
    this.ts = start.ts;
    this.streamMs = start.elapsedMs;
    this.origin = now - start.elapsedMs;
    this.heardAt = now;
  }

  /**
   * A publisher packet, as a plain 12-byte RTP header and its payload. The tap sends its own copy
   * (the buffer is shared with the forwarding path and is not changed).
   */
  forward(packet: Buffer, now: number): void {
    if (this.closed) return;
    this.heardAt = now;
    const inSeq = packet.readUInt16BE(2);
    const inTs = packet.readUInt32BE(4);
    if (!this.offsets) this.offsets = { seq: (this.seq + 1 - inSeq) & 0xffff, ts: (this.ts + FRAME_TS - inTs) >>> 0 };
    const seq = (inSeq + this.offsets.seq) & 0xffff;
    const ts = (inTs + this.offsets.ts) >>> 0;
    const newer = ((seq - this.seq) & 0xffff) < 0x8000;
    // Signed distance in RTP time from the newest packet sent (a late packet's is negative).
    const advanceMs = newer ? ((ts - this.ts) | 0) / 48 : 0;
    if (advanceMs > 0 && this.streamMs + advanceMs > now - this.origin + TAP_MAX_AHEAD_MS) {
      // Ahead of the clock (see the class comment): dropped, and the next packet placed right after
      // the newest sent, so the stream takes the publisher again as soon as the clock catches up.
      this.offsets = null;
      this.filling = false;
      return;
    }
    const out = Buffer.allocUnsafe(packet.length);
    packet.copy(out);
    out[1] = (packet[1] & 0x80) | (this.payloadType & 0x7f);
    out.writeUInt16BE(seq, 2);
    out.writeUInt32BE(ts, 4);
    out.writeUInt32BE(this.ssrc, 8);
    this.sink.send(out);
    // A late packet (older than the newest sent) does not move the stream back.
    if (newer) {
      this.seq = seq;
      this.ts = ts;
      this.streamMs += Math.max(0, advanceMs);
    }
    this.filling = false;
  }

  /**
   * Called on a clock tick (every ~20 ms): once the publisher has been silent for `TAP_GAP_MS`,
   * sends the silence that brings the stream up to `now`. Returns the frames sent.
   */
  fill(now: number): number {
    if (this.closed) return 0;
    if (!this.filling && now - this.heardAt < TAP_GAP_MS) return 0;
    const frames = Math.min(MAX_FILL_FRAMES, Math.floor((now - this.origin - this.streamMs) / FRAME_MS));
    if (frames <= 0) return 0;
    this.filling = true;
    // The publisher's next packet continues after this silence, whatever its own numbers.
    this.offsets = null;
    for (let i = 0; i < frames; i++) this.sendSilence();
    this.streamMs += frames * FRAME_MS;
    return frames;
  }

  /**
   * Closes the tap with one more packet in sequence: an RTP reader asked to stop finishes only once
   * its blocked read returns, so this lets it close its file at once. `done` runs after it is sent.
   */
  close(done: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.sendSilence(done);
  }

  private sendSilence(callback?: () => void): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + FRAME_TS) >>> 0;
    const out = Buffer.allocUnsafe(12 + OPUS_SILENCE.length);
    out[0] = 0x80;
    out[1] = this.payloadType & 0x7f;
    out.writeUInt16BE(this.seq, 2);
    out.writeUInt32BE(this.ts, 4);
    out.writeUInt32BE(this.ssrc, 8);
    OPUS_SILENCE.copy(out, 12);
    this.sink.send(out, callback);
  }
}
