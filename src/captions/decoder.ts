import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readJsonLines, spawnTied } from '../platform/media.js';
import { HeldStdin, type MediaChild, RemoteChild } from '../platform/spawner.js';
import { PYTHON, decoderSettings, modelArgs } from '../transcription/pocketsphinx.js';

/** Interim text of a phrase being spoken: the decoder's best path so far, every this many ms of its audio. */
export const PARTIAL_MS = 500;

/** The live decoder (a stream in, phrases and partial hypotheses out); the same path from src/ and dist/. */
export const STREAM_DECODER = fileURLToPath(new URL('../../src/captions/stream-decoder.py', import.meta.url));

/**
 * A phrase ends after this many 10-ms frames of silence (pocketsphinx's default is 50): the pause
 * the post-talk transcript's phrase detector splits at (VAD_DEFAULTS.minPause, 0.35 s). Every frame
 * of it is latency.
 */
export const END_OF_PHRASE_FRAMES = 35;

/**
 * The live decoder has to keep up with every speaker of every live talk on the node. It scores the 2
 * best Gaussians of each mixture instead of 4 (`-topn 2`: about a third less CPU for a little accuracy;
 * 20 Festival phrases + 5 LibriVox utterances: WER 8.3% -> 8.8% and 28.2% -> 31.0%), and it keeps at
 * most 2,000 HMMs active a frame (`-maxhmmpf`, 30,000 by default): the same words on those phrases
 * (8.3% and 35.2% as the live decoder reads them) for 20-40% less CPU, and with it ten talks on 2
 * cores whose phrases all end at the same instant got 43-60 of 60 captions within 1.5 s (60 in five
 * runs of eight), against 5-41 (docs/benchmarks.md). Narrower beams cost more accuracy (16.1% /
 * 46.5%) for less saving; -ds 2 and -pl_window 10 saved nothing measurable; 1,500 HMMs cost LibriVox
 * words (39.4%); the flat pass left out (`-fwdflat no`) saves more CPU and time at a phrase's end,
 * but captions read worse on ten live talks (caption/transcript WER 1.38-1.42 against 1.25-1.27).
 */
export const LIVE_TUNING = { '-topn': 2, '-maxhmmpf': 2000 } as const;

/**
 * The live decoder's settings: the post-talk transcript's model and passes (fwdtree as the audio
 * comes, then fwdflat and bestpath at each phrase's end) with LIVE_TUNING; its voice-activity
 * detector ends a phrase at a pause of END_OF_PHRASE_FRAMES.
 */
export function streamDecoderSettings(): { config: Record<string, string | number | boolean>; partial: number } {
  const config = { '-logfn': '/dev/null', ...decoderSettings(modelArgs()), ...LIVE_TUNING, '-vad_postspeech': END_OF_PHRASE_FRAMES };
  return { config, partial: PARTIAL_MS / 1000 };
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

/** The line a forked decoder writes last when its input ended and it finished (stream-decoder.py). */
const END_LINE = '{"end": true}\n';

/** A decoder forked by the pool's model process: a child process's fields and events; its stdin and stdout are one Unix-socket connection. */
class ForkedDecoder extends RemoteChild {
  /** Written to at once; what is written reaches the decoder once it has connected. Ending it half-closes the connection. */
  readonly stdin = new HeldStdin(null, { autoDestroy: false });
  readonly stdout = new PassThrough();
  /** The model process's last words, when this decoder failed (its stderr is the model process's). */
  readonly stderr = new PassThrough();
  /** Its model process died (by `signal`) before reporting its exit: the connection's end tells. */
  private orphaned: { signal: NodeJS.Signals | null; lastWords: string } | null = null;
  /** The end of what it wrote, to see END_LINE. */
  private tail = '';
  private connection: 'waiting' | 'open' | 'closed' = 'waiting';

  constructor(
    readonly id: number,
    readonly model: ModelProcess | null,
  ) {
    super();
    this.stdin.on('error', () => undefined);
    // 'close' comes after the last of its output was read, as a child process's does (a phrase
    // written as the input ended must reach the recognizer before it hears the decoder is gone).
    this.stdout.once('close', () => this.maybeClose());
  }

  /** Not connected yet (nor given up on). */
  get waiting(): boolean {
    return this.connection === 'waiting' && !this.exited;
  }

  forked(pid: number): void {
    this.startedAs(pid);
  }

  connected(socket: net.Socket, rest: Buffer): void {
    this.connection = 'open';
    if (rest.length) this.stdout.write(rest);
    socket.on('data', (d: Buffer) => {
      this.tail = (this.tail + d.toString('latin1')).slice(-END_LINE.length);
    });
    socket.pipe(this.stdout);
    socket.once('close', () => {
      if (!this.stdout.writableEnded) this.stdout.end();
      // Nobody reads it: what is left is dropped, so it can end.
      if (this.stdout.readableFlowing === null) this.stdout.resume();
      // Written after this goes nowhere, as into a closed pipe.
      this.stdin.destroy();
      this.connection = 'closed';
      if (this.orphaned) this.endedAsOrphan();
    });
    this.stdin.release(socket);
  }

  /**
   * Its model process died without reporting its exit. Not connected: it never will be (it counts as
   * killed with its model). Connected: it goes on until its connection closes, which says how it ended.
   */
  modelDied(signal: NodeJS.Signals | null, lastWords: string): void {
    if (this.waiting) {
      this.ended(null, signal ?? 'SIGKILL', lastWords);
      return;
    }
    this.orphaned = { signal: signal ?? 'SIGKILL', lastWords };
    if (this.connection === 'closed') this.endedAsOrphan();
  }

  /** Finished (it wrote END_LINE) or killed with its model process. */
  private endedAsOrphan(): void {
    const orphan = this.orphaned;
    if (!orphan) return;
    const finished = this.tail === END_LINE;
    this.ended(finished ? 0 : null, finished ? null : orphan.signal, orphan.lastWords);
  }

  /** It exited (the model process's report, or its connection's end once the model process is gone). */
  ended(code: number | null, signal: NodeJS.Signals | null, lastWords = ''): void {
    const neverConnected = this.waiting;
    if (!this.exitedWith(code, signal)) return;
    if (code !== 0 && lastWords) this.stderr.write(lastWords);
    this.stderr.end();
    if (neverConnected) {
      // Nothing will come from it.
      this.stdout.end();
      this.stdout.resume();
      this.stdin.destroy();
    }
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  protected streamsClosed(): boolean {
    return this.stdout.closed;
  }
}

/** The model process (stream-decoder.py with a socket's path). */
interface ModelProcess {
  child: MediaChild;
  /** The tail of its stderr (its forked decoders' too). */
  err: string;
}

/** What the model process writes on stdout, one JSON object a line (ids are the pool's request ids). */
type ModelLine = { ready: true } | { forked: number; pid: number } | { exit: number; code?: number; signal?: NodeJS.Signals };

/**
 * Each live speaker's decoder, forked from one process that loaded the model at start-up: a fork
 * takes 2-3 ms and shares the model's memory, where starting a decoder loads it again (0.3 s of CPU,
 * seconds on a loaded machine when ten speakers start at once, and 90 MB each). The model process
 * writes each decoder's pid and exit; each decoder connects to a Unix socket of the pool's (in a
 * directory only this user can enter), says which request it is, and that connection is its stdin and
 * stdout (stream-decoder.py). If the model process dies, the decoders it forked go on until their
 * input ends, and the next request starts another.
 */
export class DecoderPool {
  private model: ModelProcess | null = null;
  private server: net.Server | null = null;
  private dir: string | null = null;
  private socketPath = '';
  private nextId = 1;
  /** Decoders asked for and not ended, by request id. */
  private readonly decoders = new Map<number, ForkedDecoder>();
  private closed = false;

  /** `onBroken`: the model process could not start or exited with an error (Python or its pocketsphinx module missing), with its last words. */
  constructor(private readonly onBroken?: (why: string) => void) {}

  /** Starts the model process (the server's start-up calls this so the first speaker finds it ready). */
  warm(): void {
    if (this.closed || this.model) return;
    this.listen();
    const child = spawnTied(PYTHON, [STREAM_DECODER, JSON.stringify(streamDecoderSettings()), this.socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    const model: ModelProcess = { child, err: '' };
    this.model = model;
    child.stdin?.on('error', () => undefined);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      model.err = (model.err + d).slice(-2000);
    });
    readJsonLines(child, (line: ModelLine) => {
      if ('forked' in line) this.decoders.get(line.forked)?.forked(line.pid);
      else if ('exit' in line) this.decoders.get(line.exit)?.ended(line.code ?? null, line.signal ?? null, model.err.trim());
    });
    let dead = false;
    // On `exit`, not `close`: the decoders it forked hold its stderr open until they end.
    const died = (signal: NodeJS.Signals | null) => {
      if (dead) return;
      dead = true;
      if (this.model === model) this.model = null;
      for (const decoder of this.decoders.values()) if (decoder.model === model) decoder.modelDied(signal, model.err.trim());
    };
    child.once('exit', (_code, signal) => died(signal));
    child.once('error', (e) => {
      died(null);
      if (!this.closed) this.onBroken?.(`the live caption decoder (${PYTHON} ${STREAM_DECODER}) could not start: ${e.message}`);
    });
    // Its last words are all read by `close`. Killed by a signal (the service stopping, the server dying): not broken.
    child.once('close', (code) => {
      died(null);
      if (code !== 0 && code !== null && !this.closed)
        this.onBroken?.(`the live caption decoder (${PYTHON} ${STREAM_DECODER}) exited with ${code}: ${model.err.trim()}`);
    });
  }

  /** A decoder for one speaker, forked from the model process (started now if it is not running). */
  take(): MediaChild {
    this.warm();
    const model = this.model;
    const decoder = new ForkedDecoder(this.nextId++, model);
    if (!model) {
      // Closed: a decoder that ends at once (once the caller listens).
      setImmediate(() => decoder.ended(null, 'SIGKILL'));
      return decoder;
    }
    this.decoders.set(decoder.id, decoder);
    decoder.once('exit', () => this.decoders.delete(decoder.id));
    model.child.stdin?.write(`${decoder.id}\n`);
    return decoder;
  }

  /** Server shutdown: the model process is stopped (the end of its input ends it); running decoders end with their input. */
  close(): void {
    this.closed = true;
    this.model?.child.stdin?.end();
    this.model = null;
    this.server?.close();
    this.server = null;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  /** The socket the decoders connect to, in a directory of this user's only. */
  private listen(): void {
    if (this.server) return;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'smalltalk-decoders-'));
    this.socketPath = path.join(this.dir, 'decoders.sock');
    const server = net.createServer((socket) => this.accept(socket));
    server.on('error', (err) => this.onBroken?.(`socket ${this.socketPath} failed: ${err.message}`));
    server.listen(this.socketPath);
    // Its connections keep the app running while decoders are in use; the socket alone does not.
    server.unref();
    this.server = server;
  }

  /** A forked decoder connected: its first line says which request it is. */
  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf(10);
      if (end < 0) {
        if (head.length > 200) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      let id = -1;
      try {
        id = Number((JSON.parse(head.subarray(0, end).toString('utf8')) as { id: unknown }).id);
      } catch {
        // not one of ours
      }
      const decoder = this.decoders.get(id);
      if (!decoder?.waiting) return void socket.destroy();
      decoder.connected(socket, head.subarray(end + 1));
    };
    socket.on('data', onData);
  }
}
