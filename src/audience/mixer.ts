import dgram from 'node:dgram';
import OpusScript from 'opusscript';

/** 20 ms at 48 kHz, mono: the mixer's frame. */
export const FRAME_SAMPLES = 960;
const FRAME_MS = 20;
/** Frames a speaker's queue holds before the mix takes from it (absorbs the timers' jitter). */
const PREBUFFER = 2;
/** A queue longer than this (the mix fell behind, or a burst came) is cut back to PREBUFFER. */
const MAX_QUEUE = 10;

interface SpeakerInput {
  socket: dgram.Socket;
  decoder: OpusScript;
  queue: Int16Array[];
  playing: boolean;
}

/**
 * Mixes the stage live: each speaker's tapped Opus RTP (a continuous stream, see src/sfu/tap.ts)
 * arrives on its own 127.0.0.1 UDP port, is decoded (libopus in wasm) and queued; a clock emits
 * one 20 ms frame of 16-bit PCM every 20 ms, the sum of what each speaker has for it (silence
 * where they have nothing), so the stream follows the wall clock whoever speaks.
 */
export class StageMixer {
  private readonly inputs = new Map<string, SpeakerInput>();
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private emitted = 0;

  constructor(private readonly onFrame: (pcm: Buffer) => void) {}

  start(): void {
    if (this.timer) return;
    this.startedAt = performance.now();
    this.emitted = 0;
    this.timer = setInterval(() => this.tick(), FRAME_MS / 2);
  }

  /** Listens for one speaker's RTP; resolves to the UDP port to tap them to. */
  async addSpeaker(participantId: string): Promise<number> {
    this.removeSpeaker(participantId);
    const socket = dgram.createSocket('udp4');
    const input: SpeakerInput = { socket, decoder: new OpusScript(48_000, 1, OpusScript.Application.AUDIO), queue: [], playing: false };
    socket.on('message', (packet) => this.receive(input, packet));
    socket.on('error', () => this.removeSpeaker(participantId));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    this.inputs.set(participantId, input);
    return socket.address().port;
  }

  removeSpeaker(participantId: string): void {
    const input = this.inputs.get(participantId);
    if (!input) return;
    this.inputs.delete(participantId);
    input.socket.close();
    input.decoder.delete();
  }

  get speakers(): number {
    return this.inputs.size;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const id of [...this.inputs.keys()]) this.removeSpeaker(id);
  }

  private receive(input: SpeakerInput, packet: Buffer): void {
    const payload = rtpPayload(packet);
    if (!payload || payload.length === 0) return;
    let pcm: Buffer;
    try {
      pcm = input.decoder.decode(payload);
    } catch {
      return; // a packet libopus refuses is one lost frame, not a reason to stop
    }
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
    for (let at = 0; at + FRAME_SAMPLES <= samples.length; at += FRAME_SAMPLES) input.queue.push(samples.slice(at, at + FRAME_SAMPLES));
    if (input.queue.length > MAX_QUEUE) input.queue.splice(0, input.queue.length - PREBUFFER);
  }

  private tick(): void {
    let due = Math.floor((performance.now() - this.startedAt) / FRAME_MS) - this.emitted;
    if (due > 25) {
      // The event loop stalled for over half a second: what was missed is skipped, not rushed out.
      this.emitted += due - 1;
      due = 1;
    }
    for (; due > 0; due--) {
      this.onFrame(this.mixFrame());
      this.emitted++;
    }
  }

  private mixFrame(): Buffer {
    const sum = new Int32Array(FRAME_SAMPLES);
    for (const input of this.inputs.values()) {
      if (!input.playing && input.queue.length >= PREBUFFER) input.playing = true;
      if (!input.playing) continue;
      const frame = input.queue.shift();
      if (!frame) {
        input.playing = false;
        continue;
      }
      for (let i = 0; i < FRAME_SAMPLES; i++) sum[i] += frame[i];
    }
    const out = Buffer.allocUnsafe(FRAME_SAMPLES * 2);
    for (let i = 0; i < FRAME_SAMPLES; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, sum[i])), i * 2);
    return out;
  }
}

/** An RTP packet's payload: after the CSRCs and the header extension, without padding. */
export function rtpPayload(packet: Buffer): Buffer | null {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return null;
  let at = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (packet.length < at + 4) return null;
    at += 4 + 4 * packet.readUInt16BE(at + 2);
  }
  let end = packet.length;
  if (packet[0] & 0x20) end -= packet[end - 1];
  return end >= at ? packet.subarray(at, end) : null;
}
