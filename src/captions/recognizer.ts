import type { ChildProcess } from 'node:child_process';
import { exited, rtpInputArgs, spawnTied } from '../recordings/media.js';
import { POCKETSPHINX, PocketsphinxParser, pocketsphinxArgs } from '../transcription/pocketsphinx.js';

const SAMPLE_RATE = 16_000;
const BYTES_PER_SECOND = SAMPLE_RATE * 2;
/** A gap in the audio longer than this is filled with silence, in steps of this length. */
const GAP_MS = 100;

/** Near-silence (±2 of 32768): exact zeros upset pocketsphinx's energy-based detector (log of 0). */
function quietNoise(samples: number): Buffer {
  const pcm = new Int16Array(samples);
  for (let i = 0; i < samples; i++) pcm[i] = Math.round((Math.random() - 0.5) * 4);
  return Buffer.from(pcm.buffer);
}

/** A phrase one speaker said, with wall-clock times of when its audio reached us. */
export interface Phrase {
  text: string;
  /** When the phrase's first word arrived. */
  startedAt: Date;
  /** When the audio of its last word arrived (the latency benchmark's "phrase end"). */
  endedAt: number;
}

/**
 * pocketsphinx_continuous options for live use: one decoding pass (`-fwdflat no -bestpath no`: the
 * second and third passes run when a phrase ends, adding seconds on a loaded machine) and a
 * narrower search (`-maxhmmpf 3000 -pl_window 10`: about half the CPU). Captions come out sooner
 * and a little less accurate; the recording's transcript (batch, all passes) is the exact record.
 */
export function liveDecoderArgs(): string[] {
  // The batch decoder's model and timing arguments, on stdin, with the slower passes off.
  return [...pocketsphinxArgs('/dev/stdin'), '-fwdflat', 'no', '-bestpath', 'no', '-maxhmmpf', '3000', '-pl_window', '10'];
}

/**
 * One speaker's live recognizer: ffmpeg decodes the tapped Opus RTP (described by `sdpFile`) to
 * 16 kHz mono PCM, which streams into pocketsphinx_continuous; its voice-activity detector cuts
 * the stream into phrases at pauses and prints each about half a second after it ends.
 */
export class SpeakerRecognizer {
  private readonly decoder: ChildProcess;
  private readonly recognizer: ChildProcess;
  /** (byte offset in the PCM stream, wall-clock ms when that chunk arrived), for mapping times back. */
  private readonly arrivals: [number, number][] = [];
  private bytes = 0;
  private stopped = false;
  private lastAudioAt = 0;
  private paddedMs = 0;
  private readonly gapTimer: NodeJS.Timeout;

  constructor(sdpFile: string, onPhrase: (p: Phrase) => void, onError: (err: Error) => void) {
    this.decoder = spawnTied('ffmpeg', [...rtpInputArgs(sdpFile), '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-flush_packets', '1', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Node's child stdin is a socket, which pocketsphinx cannot open as /dev/stdin: `cat` turns it
    // into a pipe. Its stdout to a pipe is block-buffered (phrases came out only at exit): stdbuf -oL.
    this.recognizer = spawnTied('sh', ['-c', `cat | exec stdbuf -oL ${POCKETSPHINX} "$@"`, 'sh', ...liveDecoderArgs()], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.decoder.stderr?.resume();
    this.recognizer.stderr?.resume();
    this.recognizer.stdin?.on('error', () => undefined);
    this.decoder.stdout?.on('data', (chunk: Buffer) => {
      this.lastAudioAt = Date.now();
      this.paddedMs = 0;
      this.feed(chunk);
    });
    // No RTP while a speaker is silent (DTX, muted, or their audio ended) means no PCM, and the
    // detector never sees the pause that ends a phrase: feed up to two seconds of near-silence in its place.
    this.gapTimer = setInterval(() => {
      if (!this.lastAudioAt || Date.now() - this.lastAudioAt < GAP_MS || this.paddedMs >= 2000) return;
      this.feed(quietNoise((SAMPLE_RATE * GAP_MS) / 1000));
      this.paddedMs += GAP_MS;
    }, GAP_MS);
    this.gapTimer.unref();
    this.decoder.once('close', () => this.recognizer.stdin?.end());
    const parser = new PocketsphinxParser((u) => {
      onPhrase({ text: u.text, startedAt: new Date(this.arrivalOf(u.start)), endedAt: this.arrivalOf(u.end) });
    });
    let buffered = '';
    this.recognizer.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const l of lines) parser.line(l);
    });
    this.recognizer.once('close', (code, signal) => {
      if (buffered) parser.line(buffered);
      if (code === 0 || this.stopped) return;
      // SIGTERM/SIGINT from outside: the process group is stopping (systemd, Ctrl-C), not a failure.
      const orderly = signal === 'SIGTERM' || signal === 'SIGINT';
      onError(Object.assign(new Error(signal ? `pocketsphinx stopped by ${signal}` : `pocketsphinx exited with ${code}`), { orderly }));
    });
    for (const child of [this.decoder, this.recognizer]) child.once('error', (err) => onError(err));
  }

  private feed(pcm: Buffer): void {
    if (!this.recognizer.stdin || this.recognizer.stdin.writableEnded) return;
    this.arrivals.push([this.bytes, Date.now()]);
    if (this.arrivals.length > 4000) this.arrivals.splice(0, 2000);
    this.bytes += pcm.length;
    this.recognizer.stdin?.write(pcm);
  }

  /** Wall-clock ms when the PCM at `seconds` into the stream arrived. */
  private arrivalOf(seconds: number): number {
    const offset = Math.round(seconds * BYTES_PER_SECOND);
    let found = this.arrivals[0]?.[1] ?? Date.now();
    for (const [at, wall] of this.arrivals) {
      if (at > offset) break;
      found = wall;
    }
    return found;
  }

  /**
   * Stops decoding; pocketsphinx then finishes (and reports) the phrase in progress. Killed if it
   * takes longer than `graceMs`.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.gapTimer);
    this.decoder.kill('SIGKILL');
    await exited(this.decoder);
    this.recognizer.stdin?.end();
    const killer = setTimeout(() => this.recognizer.kill('SIGKILL'), graceMs);
    try {
      await exited(this.recognizer);
    } finally {
      clearTimeout(killer);
    }
  }
}
