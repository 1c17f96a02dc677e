import type { MediaChild } from '../platform/spawner.js';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawnTied } from '../platform/media.js';
import { modelArgs } from '../transcription/pocketsphinx.js';

/** Interim text of a phrase being spoken: the decoder's best path so far, every this many ms of its audio. */
export const PARTIAL_MS = 500;

/**
 * Debian's Python 3, whose python3-pocketsphinx binds the same pocketsphinx library (5-prealpha) as
 * the command-line decoder; by its full path so another Python on the PATH (a virtualenv, pyenv)
 * is not taken by mistake.
 */
export const PYTHON = '/usr/bin/python3';
/** The live decoder (a stream in, phrases and partial hypotheses out); the same path from src/ and dist/. */
export const STREAM_DECODER = fileURLToPath(new URL('../../src/captions/stream-decoder.py', import.meta.url));

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
export const LIVE_TUNING = { '-topn': 2 } as const;

/**
 * The live decoder's settings: the post-talk transcript's model and passes (fwdtree as the audio
 * comes, then fwdflat and bestpath at each phrase's end) with LIVE_TUNING; its voice-activity
 * detector ends a phrase at a pause of END_OF_PHRASE_FRAMES.
 */
export function streamDecoderSettings(): { config: Record<string, string | number | boolean>; partial: number } {
  const config: Record<string, string | number | boolean> = { '-logfn': '/dev/null' };
  const model = modelArgs();
  for (let i = 0; i + 1 < model.length; i += 2) config[model[i]] = model[i + 1];
  return { config: { ...config, ...LIVE_TUNING, '-vad_postspeech': END_OF_PHRASE_FRAMES }, partial: PARTIAL_MS / 1000 };
}

/**
 * What the decoder reads on its stdin (stream-decoder.py): frames of a kind byte, a 4-byte
 * little-endian length and that many bytes. `a`: PCM; `w`: words to add (JSON [[word, phones], ...]).
 */
export function decoderFrame(kind: 'a' | 'w', payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame.write(kind, 0, 'latin1');
  frame.writeUInt32LE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

/** Kills a decoder now, queued audio and all. */
export function killDecoder(decoder: MediaChild): void {
  decoder.stdin?.destroy();
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

/** The live decoder (stream-decoder.py) reading PCM on its stdin. */
function startDecoder(): MediaChild {
  const child = spawnTied(PYTHON, [STREAM_DECODER, JSON.stringify(streamDecoderSettings())], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  return child;
}

/**
 * Keeps one decoder started ahead of need: loading the model takes 0.2-0.5 s of CPU (seconds of
 * waiting on a loaded machine), which otherwise delayed a speaker's first caption. A speaker takes
 * the spare and a new spare starts. About 90 MB while idle.
 */
export class DecoderPool {
  private spare: MediaChild | null = null;
  private closed = false;

  /** `onBroken`: a spare exited with an error before any speaker took it (Python or its pocketsphinx module missing), with its last words. */
  constructor(private readonly onBroken?: (why: string) => void) {}

  /** Starts the spare (the server's start-up calls this so the first speaker finds it ready). */
  warm(): void {
    if (this.closed || this.spare) return;
    const spare = startDecoder();
    this.spare = spare;
    let err = '';
    spare.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-500);
    });
    const broken = (why: string) => {
      if (this.spare !== spare) return;
      this.spare = null;
      if (!this.closed) this.onBroken?.(`the live caption decoder (${PYTHON} ${STREAM_DECODER}) ${why}`);
    };
    spare.once('error', (e) => broken(`could not start: ${e.message}`));
    spare.once('close', (code) => {
      // Killed by a signal (the service stopping, the server dying): not broken.
      if (code === 0 || code === null) {
        if (this.spare === spare) this.spare = null;
        return;
      }
      broken(`exited with ${code}: ${err.trim()}`);
    });
  }

  /** A decoder for one speaker: the spare if it is still alive, else a new one; then a new spare. */
  take(): MediaChild {
    let got = this.spare;
    this.spare = null;
    if (got && (got.exitCode !== null || got.signalCode !== null)) got = null;
    got ??= startDecoder();
    this.warm();
    return got;
  }

  /** Stops the spare (server shutdown): the end of its input ends it. */
  close(): void {
    this.closed = true;
    this.spare?.stdin?.end();
    this.spare = null;
  }
}
