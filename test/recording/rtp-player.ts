// Plays speakers' voices as Opus RTP from a process of its own, as the SFU's taps reach the recorder
// and the captioner (at once, from another thread, continuously): each voice is encoded once (ffmpeg libopus to Ogg, before the talks
// start), and the player only paces the packets out over UDP. The old way, one real-time ffmpeg
// encoder per tap inside the benchmark's own process, cost the server two Opus encoders per speaker
// that production does not have, and its spawns (each blocks the event loop until the child execs:
// 100-350 ms each with ten talks on two cores) stalled the app under test.
//
// One playback per speaker, started by its first tap; a later tap of the same speaker gets the
// packets from then on (as a tap of the live stream does), so every tap hears the speech at the same
// moment and "phrase sent" has one meaning. The child reports when each playback sent its first
// packet (same machine, same clock) and when it ended.
import { type ChildProcess, fork } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { RtpTarget } from '../../src/rooms/live.js';
import { run } from '../../src/platform/media.js';
import { OPUS_SILENCE } from '../../src/sfu/tap.js';
import { RtpTestRoom } from './media.js';

const FRAME_MS = 20;
const SAMPLES_PER_FRAME = 960;

/** The Opus packets of an Ogg Opus file (the two header packets skipped). */
export function oggOpusPackets(file: string): Buffer[] {
  const data = readFileSync(file);
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  let at = 0;
  while (at + 27 <= data.length) {
    if (data.toString('latin1', at, at + 4) !== 'OggS') throw new Error(`not an Ogg page at byte ${at} of ${file}`);
    const segments = data[at + 26];
    const table = data.subarray(at + 27, at + 27 + segments);
    let body = at + 27 + segments;
    for (const size of table) {
      partial.push(data.subarray(body, body + size));
      body += size;
      // A lacing value under 255 ends the packet; 255 continues it (possibly on the next page).
      if (size < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = body;
  }
  return packets.slice(2);
}

/** Encodes a WAV to Ogg Opus (48 kb/s, 20 ms frames) once; returns the file. */
export async function encodeVoice(wav: string): Promise<string> {
  const out = wav.replace(/\.wav$/, '') + '.opus';
  await run('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-i',
    wav,
    '-c:a',
    'libopus',
    '-b:a',
    '48k',
    '-frame_duration',
    String(FRAME_MS),
    '-f',
    'ogg',
    out,
  ]);
  return out;
}

type ToChild = { play: string; voice: string } | { tap: string; host: string; port: number; payloadType: number } | { untap: string; port: number };
type FromChild = { started: string; at: number } | { ended: string; at: number };

/** The parent's side: a player process and what it reported. */
export class RtpPlayer {
  private readonly child: ChildProcess;
  readonly startedAt = new Map<string, number>();
  private readonly ended = new Map<string, () => void>();
  private readonly endedAt = new Map<string, number>();
  private readonly playing = new Set<string>();

  constructor() {
    this.child = fork(new URL(import.meta.url).pathname, ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromChild) => {
      if ('started' in m) this.startedAt.set(m.started, m.at);
      else {
        this.endedAt.set(m.ended, m.at);
        this.ended.get(m.ended)?.();
      }
    });
  }

  /** Sends `speaker`'s voice (an Ogg Opus file) to `target` from now on; starts the playback at its first tap. */
  tap(speaker: string, voice: string, target: { host: string; port: number; payloadType: number }): () => void {
    if (!this.playing.has(speaker)) {
      this.playing.add(speaker);
      this.send({ play: speaker, voice });
    }
    this.send({ tap: speaker, ...target });
    return () => this.send({ untap: speaker, port: target.port });
  }

  /** Resolves when `speaker`'s voice has been played to its end (silence follows while it is tapped). */
  finished(speaker: string): Promise<void> {
    if (this.endedAt.has(speaker)) return Promise.resolve();
    return new Promise((resolve) => this.ended.set(speaker, resolve));
  }

  close(): void {
    this.child.kill();
  }

  private send(m: ToChild): void {
    this.child.send(m);
  }
}

/** The child: paces each speaker's packets as RTP (its own SSRC, sequence and timestamps) to its taps. */
function child(): void {
  const socket = dgram.createSocket('udp4');
  const taps = new Map<string, { host: string; port: number; payloadType: number }[]>();
  const report = (m: FromChild) => process.send?.(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if ('tap' in m) {
      taps.set(m.tap, [...(taps.get(m.tap) ?? []), { host: m.host, port: m.port, payloadType: m.payloadType }]);
    } else if ('untap' in m) {
      taps.set(
        m.untap,
        (taps.get(m.untap) ?? []).filter((t) => t.port !== m.port),
      );
    } else {
      const speaker = m.play;
      const packets = oggOpusPackets(m.voice);
      const ssrc = (Math.random() * 0xffffffff) >>> 0;
      const start = performance.now();
      let i = 0;
      let ended = false;
      const tick = () => {
        // Every packet that is due (a late timer sends the ones it owes at once, as a real sender
        // would); past the voice's end, silence, as the SFU's tap sends while nobody speaks.
        while (performance.now() >= start + i * FRAME_MS) {
          const payload = i < packets.length ? packets[i] : OPUS_SILENCE;
          for (const t of taps.get(speaker) ?? []) {
            const header = Buffer.alloc(12);
            header[0] = 0x80;
            header[1] = t.payloadType & 0x7f;
            header.writeUInt16BE(i & 0xffff, 2);
            header.writeUInt32BE((i * SAMPLES_PER_FRAME) >>> 0, 4);
            header.writeUInt32BE(ssrc, 8);
            socket.send(Buffer.concat([header, payload]), t.port, t.host);
          }
          if (i === 0) report({ started: speaker, at: Date.now() });
          i++;
          if (i === packets.length) {
            ended = true;
            report({ ended: speaker, at: Date.now() });
          }
        }
        // Until the voice has ended and every tap of it is gone.
        if (!ended || (taps.get(speaker)?.length ?? 0) > 0) setTimeout(tick, Math.max(0, start + i * FRAME_MS - performance.now()));
      };
      tick();
    }
  });
}

/**
 * The stand-in room (RtpTestRoom) with its taps played by an RtpPlayer: a tap's first packet goes
 * out within milliseconds of `tapSpeaker`, as the SFU's does, instead of after an ffmpeg encoder
 * has started (up to seconds on a loaded machine, which then looked like audio the server lost).
 * Each voice is encoded ahead with `voiceOpus`.
 */
export class PlayedRoom extends RtpTestRoom {
  readonly player = new RtpPlayer();
  /** Each speaker's voice as Ogg Opus. */
  readonly opus = new Map<string, string>();

  /** Encodes `wav` (once) as the voice `participantId` plays when tapped. */
  async voiceOpus(participantId: string, wav: string): Promise<void> {
    this.opus.set(participantId, await encodeVoice(wav));
  }

  override async tapSpeaker(_talkId: string, participantId: string, target: RtpTarget) {
    const voice = this.opus.get(participantId);
    if (!voice) throw new Error(`no voice for ${participantId}`);
    const untap = this.player.tap(participantId, voice, target);
    return async () => untap();
  }

  override finished(participantId: string): Promise<void> {
    return this.player.finished(participantId);
  }

  close(): void {
    this.player.close();
  }
}

if (process.argv.includes('--child')) child();
