/**
 * Starting a child from the app's own process holds its event loop until the child has exec'd
 * (libuv waits to learn whether exec failed): 10-16 ms on an idle machine, 130 ms on average and up
 * to 358 ms with both cores busy (a 10-talk run spawned 156 children: 20 s of the main thread;
 * issue 15, docs/benchmarks.md). So the media children (ffmpeg, pocketsphinx) start in the spawner,
 * a small process of its own (spawner-process.ts), and the app only sends it a message. Their stdio
 * are Unix-socket connections from the app (as a child's own pipes, which are socket pairs), so the
 * data flows between them and the app directly.
 *
 * The spawner starts on the first spawn (that one, and any until it is ready, start directly), is
 * tied to the app (it dies with it, and its children with it, as the app's own children would), and
 * does not keep the app running. If it dies, its children die with it (they see `exit` with
 * SIGKILL) and the next spawn starts another.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { type Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type SpawnRequest, type SpawnerEvent, header } from './spawner-protocol.js';

/** What the media code uses of a child, whether the spawner or the app started it. */
export interface MediaChild extends EventEmitter {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly pid?: number;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
}

export type Stdio = ('ignore' | 'pipe')[];

/**
 * `setpriv --pdeathsig KILL`, when there is one: a child started under it dies with its parent, so
 * a SIGKILL of the server leaves no orphan holding a port or a file.
 */
export const SETPRIV = existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : null;

/** `command` under SETPRIV, as [command, args]. */
export function tied(command: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', command, ...args]] : [command, args];
}

/**
 * A child's stdin before and after it starts: writes wait (counted in writableLength, as a pipe's
 * would be) until the child holds its connection, then go straight to it, each done once the
 * socket has passed it on; ending and destroying reach the child's connection. The connection may
 * also come only when the child does (a forked caption decoder connects back: captions/decoder.ts).
 */
export class HeldStdin extends Writable {
  private socket: net.Socket | null = null;
  private waiting: (() => void) | null = null;

  /**
   * `autoDestroy: false` where the connection is also the child's stdout (a forked caption decoder):
   * ending stdin must not destroy the connection while the child still writes.
   */
  constructor(
    private connection: net.Socket | null = null,
    options: { autoDestroy?: boolean } = {},
  ) {
    super(options);
  }

  /** The child holds the connection now (`connection`, when it was not known at the start). */
  release(connection: net.Socket | null = this.connection) {
    if (!connection) return;
    this.connection = connection;
    if (this.destroyed) {
      connection.destroy();
      return;
    }
    this.socket = connection;
    const next = this.waiting;
    this.waiting = null;
    next?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void) {
    const write = () => (this.socket as net.Socket).write(chunk, done);
    if (this.socket) write();
    else this.waiting = write;
  }

  override _final(done: (err?: Error | null) => void) {
    const end = () => {
      (this.socket as net.Socket).end();
      done();
    };
    if (this.socket) end();
    else this.waiting = end;
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void) {
    this.connection?.destroy();
    done(err);
  }
}

/**
 * A child another process started for the app (the spawner; the live captions' model process,
 * captions/decoder.ts), known here by the pid that process reports: a ChildProcess's fields, `exit`,
 * `close` once it exited and its streams closed, and `kill`, held until the pid is known.
 */
export abstract class RemoteChild extends EventEmitter implements MediaChild {
  abstract readonly stdin: Writable | null;
  abstract readonly stdout: Readable | null;
  abstract readonly stderr: Readable | null;
  pid: number | undefined = undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  protected exited = false;
  private pendingSignal: NodeJS.Signals | null = null;

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    if (this.pid === undefined) {
      this.pendingSignal = signal;
      return true;
    }
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Its pid is known: a signal asked for meanwhile is sent now. */
  protected startedAs(pid: number): void {
    this.pid = pid;
    if (this.pendingSignal) this.kill(this.pendingSignal);
  }

  /** It exited: false if that was known already. The caller then emits `exit` and calls maybeClose. */
  protected exitedWith(code: number | null, signal: NodeJS.Signals | null): boolean {
    if (this.exited) return false;
    this.exited = true;
    this.exitCode = code;
    this.signalCode = signal;
    return true;
  }

  /** Whether all its streams have closed. */
  protected abstract streamsClosed(): boolean;

  protected maybeClose(): void {
    if (this.exited && this.streamsClosed()) this.emit('close', this.exitCode, this.signalCode);
  }
}

/** A child the spawner started: a ChildProcess's events (`exit`, `close`, `error`) and fields. */
class SpawnedChild extends RemoteChild {
  /** Written to at once; what is written reaches the child once it holds its connection (started). */
  readonly stdin: HeldStdin | null = null;
  readonly stdout: net.Socket | null;
  readonly stderr: net.Socket | null;
  private stdinSocket: net.Socket | null = null;
  private openStreams = 0;

  constructor(socketPath: string, id: number, stdio: Stdio) {
    super();
    const connect = (i: number) => {
      if (stdio[i] !== 'pipe') return null;
      const socket = net.connect(socketPath);
      socket.write(header(id, i));
      // Errors come as a child's pipe's do (EPIPE and the like): the stream ends.
      socket.on('error', () => undefined);
      this.openStreams++;
      socket.once('close', () => {
        this.openStreams--;
        this.maybeClose();
      });
      return socket;
    };
    this.stdinSocket = connect(0);
    this.stdout = connect(1);
    this.stderr = connect(2);
    const socket = this.stdinSocket;
    if (socket) {
      // Nothing but the header may reach the spawner: what is written before the child starts waits here.
      const stdin = new HeldStdin(socket);
      this.stdin = stdin;
      stdin.on('error', () => undefined);
      // The child gone: what is still written goes nowhere, as into a closed pipe.
      socket.once('close', () => stdin.destroy());
    }
  }

  started(pid: number) {
    this.stdin?.release();
    this.startedAs(pid);
  }

  ended(code: number | null, signal: NodeJS.Signals | null) {
    if (!this.exitedWith(code, signal)) return;
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  failed(code: string, message: string) {
    if (!this.exitedWith(-1, null)) return;
    // Destroying stdin destroys its connection too.
    for (const s of [this.stdin, this.stdout, this.stderr]) s?.destroy();
    this.emit('error', Object.assign(new Error(message), { code }));
  }

  protected streamsClosed(): boolean {
    return this.openStreams === 0;
  }
}

/** The spawner process, its socket once it listens, and the children it started. */
class Spawner {
  private socketPath: string | null = null;
  private nextId = 1;
  private readonly children = new Map<number, SpawnedChild>();
  readonly process: ChildProcess;
  dead = false;

  constructor() {
    const self = fileURLToPath(import.meta.url);
    const script = self.replace(/spawner\.(ts|js)$/, 'spawner-process.$1');
    // Run from the sources (tests, `npm run dev`): through tsx, as the app is.
    const loader = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const [command, args] = tied(process.execPath, [...loader, script]);
    this.process = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.process.on('message', (m: SpawnerEvent) => this.onEvent(m));
    this.process.once('exit', () => this.died());
    this.process.once('disconnect', () => this.died());
    this.process.once('error', () => this.died());
    // The spawner never keeps the app running: it dies with it.
    this.process.unref();
    this.process.channel?.unref();
  }

  get ready(): boolean {
    return this.socketPath !== null && !this.dead && this.process.connected;
  }

  spawn(command: string, args: string[], stdio: Stdio): MediaChild {
    const id = this.nextId++;
    const child = new SpawnedChild(this.socketPath as string, id, stdio);
    this.children.set(id, child);
    const request: SpawnRequest = {
      type: 'spawn',
      id,
      command,
      args,
      env: { ...process.env },
      cwd: process.cwd(),
      pipes: [0, 1, 2].filter((i) => stdio[i] === 'pipe'),
    };
    this.process.send(request);
    // While it has children the channel keeps the app running, as a child's own handle would.
    this.process.channel?.ref();
    return child;
  }

  private forget(id: number) {
    this.children.delete(id);
    if (this.children.size === 0) this.process.channel?.unref();
  }

  private onEvent(m: SpawnerEvent) {
    if (m.type === 'ready') {
      this.socketPath = m.path;
      return;
    }
    const child = this.children.get(m.id);
    if (!child) return;
    if (m.type === 'spawned') child.started(m.pid);
    else if (m.type === 'exit') {
      this.forget(m.id);
      child.ended(m.code, m.signal);
    } else if (m.type === 'failed') {
      this.forget(m.id);
      child.failed(m.code, m.message);
    }
  }

  /** Its children died with it (their parent-death signal). */
  private died() {
    if (this.dead) return;
    this.dead = true;
    for (const child of this.children.values()) child.ended(null, 'SIGKILL');
    this.children.clear();
  }
}

let spawner: Spawner | null = null;
let startedAt = 0;

/** The running spawner, or a new one if none runs (unless `force`, at most one start every 10 s). */
function ensureSpawner(force: boolean): Spawner | null {
  if (spawner && !spawner.dead) return spawner;
  if (!force && Date.now() - startedAt <= 10_000) return null;
  startedAt = Date.now();
  spawner = new Spawner();
  return spawner;
}

/**
 * Starts `command` as a media child: through the spawner once it is ready, directly until then (the
 * spawner is started by the first call, and again at most every 10 s if it died).
 */
export function spawnMedia(command: string, args: string[], stdio: Stdio): MediaChild {
  let current: Spawner | null = null;
  try {
    current = ensureSpawner(false);
  } catch {
    // It could not start: directly, as before there was one.
  }
  if (current?.ready) return current.spawn(command, args, stdio);
  return spawn(command, args, { stdio });
}

/** Whether spawns go through the spawner now (for tests and the benchmark). */
export function spawnerReady(): boolean {
  return spawner?.ready === true;
}

/** Starts the spawner if it is not running, and resolves once it is ready (false: it could not start within `timeoutMs`). */
export async function startSpawner(timeoutMs = 10_000): Promise<boolean> {
  const current = ensureSpawner(true) as Spawner;
  const deadline = Date.now() + timeoutMs;
  while (!current.ready && !current.dead && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return current.ready;
}

/** The spawner's pid (tests kill it to see its children go). */
export function spawnerPid(): number | undefined {
  return spawner?.process.pid;
}
