import type { MediaChild } from '../platform/spawner.js';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnTied } from '../platform/media.js';
import { POCKETSPHINX, pocketsphinxArgs } from '../transcription/pocketsphinx.js';

/** Interim text of a phrase being spoken, at most this often. */
export const PARTIAL_MS = 500;

/**
 * The caption decoder: exactly the post-talk transcript's pocketsphinx_continuous options
 * (pocketsphinxArgs: model, and every pass: fwdtree, then fwdflat and bestpath at each phrase end),
 * reading the live PCM; its voice-activity detector ends a phrase at a pause and prints it.
 */
export function finalDecoderArgs(): string[] {
  return [...pocketsphinxArgs('/dev/stdin'), ...LIVE_TUNING, '-vad_postspeech', String(END_OF_PHRASE_FRAMES)];
}

/**
 * A phrase ends after this many 10-ms frames of silence (pocketsphinx's default is 50): the pause
 * the post-talk transcript's phrase detector splits at (VAD_DEFAULTS.minPause, 0.35 s). Every frame
 * of it is latency.
 */
export const END_OF_PHRASE_FRAMES = 35;

/**
 * The live decoder scores the 2 best Gaussians of each mixture instead of 4: about a third less CPU
 * for a little accuracy (20 Festival phrases + 5 LibriVox utterances: WER 8.3% -> 8.8% and 28.2% ->
 * 31.0%, within the 1.5x of the post-talk transcript's that captions may have; docs/benchmarks.md).
 * Narrower beams cost more accuracy (16.1% / 46.5%) for the same saving; -ds 2, -maxhmmpf 3000 and
 * -pl_window 10 saved nothing measurable. The live decoder has to keep up with every speaker of every
 * live talk on the node.
 */
export const LIVE_TUNING: string[] = ['-topn', '2'];

/**
 * The interim decoder: one pass and a narrow search (beams 1e-30/1e-20, at most 1500 HMMs, the 2
 * best Gaussians): on a 6-s Festival phrase 0.3 s of CPU against 2.3 s for the final decoder
 * (loaded machine), rougher text. It ends an utterance after 0.1 s of silence; the recognizer cuts
 * its copy of the audio every INTERIM_CHUNK_MS with a short silence, so it prints the words of a
 * phrase while it is spoken: pocketsphinx_continuous has no partial hypotheses of its own.
 */
export function interimDecoderArgs(): string[] {
  return [
    ...pocketsphinxArgs('/dev/stdin'),
    ...['-fwdflat', 'no', '-bestpath', 'no', '-beam', '1e-30', '-wbeam', '1e-20', '-pbeam', '1e-30', '-maxhmmpf', '1500', '-topn', '2', '-pl_window', '10'],
    ...['-vad_postspeech', '10'],
  ];
}

export type DecoderKind = 'final' | 'interim';

/**
 * Kills a decoder now, queued audio and all: `sh` and its children (`cat`, pocketsphinx), which a
 * signal to `sh` alone would leave decoding what was queued.
 */
export function killDecoder(decoder: MediaChild): void {
  decoder.stdin?.destroy();
  for (const pid of childrenOf(decoder.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  decoder.kill('SIGKILL');
}

/**
 * The processes `pid` started (and those they started), from each process's parent in /proc
 * (`/proc/PID/task/PID/children` is documented as unreliable while the children run); none where
 * there is no /proc.
 */
export function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  const parentOf = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/**
 * pocketsphinx_continuous on its stdin. Node gives a child a socket as stdin, which pocketsphinx
 * cannot open as /dev/stdin: `cat` turns it into a pipe. Its stdout to a pipe is block-buffered
 * (phrases came out only at exit): stdbuf -oL.
 */
function startDecoder(kind: DecoderKind): MediaChild {
  const args = kind === 'final' ? finalDecoderArgs() : interimDecoderArgs();
  // When the CPU is short, the captions go first: the interim decoder runs at a lower priority (its
  // text is dropped when it comes after the caption it leads up to, see recognizer.ts). The other way
  // round (final at nice 5) left captions 24-119 s late at load average 20-30 on 2 cores.
  // No effect on an idle machine.
  const nice = kind === 'interim' ? 'nice -n 10 ' : '';
  const child = spawnTied('sh', ['-c', `cat | exec ${nice}stdbuf -oL ${POCKETSPHINX} "$@"`, 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  return child;
}

/**
 * Keeps one decoder of each kind started ahead of need: loading the model takes about half a
 * second of CPU (seconds of waiting on a loaded machine), which otherwise delayed a speaker's
 * first caption. A speaker takes the spares and new spares start. About 2 x 40 MB while idle.
 */
export class DecoderPool {
  private readonly spares = new Map<DecoderKind, MediaChild>();
  private closed = false;

  /** Starts the spares (the server's start-up calls this so the first speaker finds them ready). */
  warm(): void {
    if (this.closed) return;
    for (const kind of ['final', 'interim'] as const) if (!this.spares.has(kind)) this.spares.set(kind, startDecoder(kind));
  }

  /** A decoder for one speaker: the spare if it is still alive, else a new one; then a new spare. */
  take(kind: DecoderKind): MediaChild {
    let got = this.spares.get(kind) ?? null;
    this.spares.delete(kind);
    if (got && (got.exitCode !== null || got.signalCode !== null)) got = null;
    got ??= startDecoder(kind);
    this.warm();
    return got;
  }

  /** Stops the spares (server shutdown). */
  close(): void {
    this.closed = true;
    // End of input ends `cat`, then pocketsphinx (killing `sh` would leave both running).
    for (const child of this.spares.values()) child.stdin?.end();
    this.spares.clear();
  }
}
