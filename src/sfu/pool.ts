import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { InitMessage } from './link.js';
import type { FromWorker, IceCandidate, SfuWorkerOptions, ToWorker, WorkerStats } from './protocol.js';
import { usableCandidate } from './offer.js';
import { newTapStart, resumedTapStart, type TapStart } from './tap.js';

/** How long stop() waits for each worker to close its peers before terminating it. */
const STOP_WAIT_MS = 3000;
/** How soon a media process that died is started again (doubled while it keeps dying young, up to the max). */
const RESTART_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A media process that lived this long before dying is restarted at once again. */
const LIVED_MS = 10_000;

type Request = ToWorker extends infer M ? (M extends { reqId: number } ? Omit<M, 'reqId'> : never) : never;

/** A worker as the pool drives it: a thread (werift) or a child process (datachannel). */
interface WorkerLink {
  postMessage(m: ToWorker): void;
  terminate(): Promise<unknown>;
}

interface WorkerHandle {
  index: number;
  link: WorkerLink;
  /** Its media process died and the next one is not running yet (what is sent to it waits). */
  restarting: boolean;
  peers: number;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
}

/** A tap the pool made: remembered so that a media process started again after a crash gets it again. */
interface TapRecord {
  participantId: string;
  port: number;
  payloadType: number;
  /** Its stream's first numbers, and when it began: a tap made again goes on with them (resumedTapStart). */
  first: TapStart;
  madeAt: number;
  /** Its request is out: the tap is not made again meanwhile (retap). */
  making: boolean;
  /** The worker and its id for the tap there (null while the worker is being started again). */
  at: { worker: WorkerHandle; tapId: number } | null;
}

export interface SfuEvents {
  levels(levels: [string, number][]): void;
  peerState(participantId: string, state: string): void;
  /**
   * The media of these participants was lost (their media process died and was started again):
   * their clients must negotiate a new peer connection.
   */
  mediaLost(participantIds: string[]): void;
}

/**
 * The media plane: SFU_WORKERS worker threads (0 = one per core) running werift, connected
 * pairwise by MessagePorts so a talk's listeners can sit on any worker. Participants are placed
 * on the least-loaded worker; a publisher's packets reach the other workers of its talk by relay.
 * The datachannel engine runs in SFU_WORKERS child processes instead (0 = one; dc-worker.ts says
 * why processes). Nothing relays between them, so a talk lives on one: the least-loaded process
 * when its first participant arrives, and every later one of that talk goes there too. A media
 * process that dies is started again, its taps are made again, and the rooms ask its participants
 * to reconnect.
 */
export class SfuPool {
  private readonly workers: WorkerHandle[] = [];
  private readonly placement = new Map<string, WorkerHandle>();
  /**
   * The datachannel engine's talks: the process each is on and how many of its participants are placed
   * there (the talk is free to go elsewhere once none is). Empty with werift, which relays.
   */
  private readonly talkPlacement = new Map<string, { worker: WorkerHandle; participants: number }>();
  /** The talk of each placed participant (a closed talk's are unplaced with it). */
  private readonly talkOf = new Map<string, string>();
  /** Each talk's placed participants (talkOf the other way round), so closing a talk touches only its own. */
  private readonly placedOf = new Map<string, Set<string>>();
  /**
   * The publish flag each worker last got per participant. The room re-sends every participant's
   * flag after any change (each join): unchanged ones are not posted again, or a burst of N joins
   * posts N² messages to the worker whose thread also runs the handshakes.
   */
  private readonly publishSent = new Map<string, boolean>();
  /**
   * The slots message each worker last got per talk (worker index, then talk id), for the same reason:
   * every join re-sends the talk's slots, which mostly have not changed (100 joins: 100 posts of the same
   * message, 0.8 ms of the main thread's serialisation each on this 2-core machine).
   */
  private readonly slotsSent = new Map<number, Map<string, string>>();
  private readonly taps = new Set<TapRecord>();
  private nextReq = 1;
  private started = false;
  /** Set while stop() runs: a media process that dies then is not started again. */
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly events: SfuEvents,
  ) {}

  /** Whether a talk lives whole on one worker: the datachannel engine's processes relay nothing to each other. */
  private get byTalk() {
    return this.config.SFU_ENGINE === 'datachannel';
  }

  get size() {
    return this.workers.length;
  }

  async start() {
    if (this.started) return;
    this.started = true;
    // node-datachannel can live in one thread of a process only: loaded in a second worker thread, its
    // callbacks entered the other thread's V8 isolate and the process aborted ("HandleScope::HandleScope
    // Entering the V8 API without proper locking in place"). So it runs in one child process, whose
    // main thread only rewrites and hands over packets: libdatachannel runs ICE, DTLS and SRTP in its own.
    // One media process unless asked for more: it already spreads over cores (libdatachannel's own
    // threads beside the forwarding thread), and a second helps only with several talks on the node.
    const datachannel = this.config.SFU_ENGINE === 'datachannel';
    const n = datachannel ? Math.max(1, this.config.SFU_WORKERS) : this.config.SFU_WORKERS || os.availableParallelism();
    const ports: Record<number, Record<number, MessagePort>> = {};
    for (let i = 0; i < n; i++) ports[i] = {};
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ch = new MessageChannel();
        ports[i][j] = ch.port1;
        ports[j][i] = ch.port2;
      }
    }
    const span = this.config.RTC_PORT_MAX - this.config.RTC_PORT_MIN + 1;
    const per = Math.floor(span / n);
    const turn = this.config.TURN_URLS
      ? this.config.TURN_URLS.split(',').map((urls) => ({
          urls: urls.trim(),
          username: this.config.TURN_USERNAME,
          credential: this.config.TURN_CREDENTIAL,
        }))
      : [];
    for (let i = 0; i < n; i++) {
      const options: SfuWorkerOptions = {
        index: i,
        listenIp: this.config.RTC_LISTEN_IP,
        announcedIp: this.config.RTC_ANNOUNCED_IP ?? null,
        // Each worker gets its own slice of the UDP port range, so workers never race for a port.
        portRange: per >= 2 ? [this.config.RTC_PORT_MIN + i * per, this.config.RTC_PORT_MIN + (i + 1) * per - 1] : null,
        iceServers: turn,
        negotiations: this.config.SFU_NEGOTIATIONS,
      };
      const handle: WorkerHandle = {
        index: i,
        link: { postMessage: () => undefined, terminate: async () => undefined },
        restarting: false,
        peers: 0,
        pending: new Map(),
      };
      handle.link = datachannel ? this.processWorker(handle, options, 0) : this.threadWorker(handle, options, ports[i]);
      this.workers.push(handle);
    }
    this.log.info({ workers: n, engine: this.config.SFU_ENGINE }, 'SFU workers started');
  }

  /** A werift worker thread (from the sources, it registers tsx's loader before importing the TypeScript). */
  private threadWorker(handle: WorkerHandle, options: SfuWorkerOptions, relayPorts: Record<number, MessagePort>): WorkerLink {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const url = new URL(`./worker${ext}`, import.meta.url);
    const init = { workerData: { options, relayPorts }, transferList: Object.values(relayPorts) };
    const worker =
      ext === '.ts'
        ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`, { ...init, eval: true })
        : new Worker(url, init);
    worker.on('message', (m: FromWorker) => this.onMessage(handle, m));
    worker.on('error', (err) => {
      this.log.error({ err, worker: handle.index }, 'SFU worker failed');
      this.rejectPending(handle);
    });
    return { postMessage: (m) => worker.postMessage(m), terminate: () => worker.terminate() };
  }

  /**
   * The datachannel engine's media process. Its options go in the first message (TURN credentials
   * stay out of the process listing); it exits when this process's IPC channel closes, so it never
   * outlives the server. If it dies while the pool runs, it is started again (see mediaProcessDied).
   */
  private processWorker(handle: WorkerHandle, options: SfuWorkerOptions, restartMs: number): WorkerLink {
    const ts = import.meta.url.endsWith('.ts');
    const child = fork(fileURLToPath(new URL(`./dc-worker${ts ? '.ts' : '.js'}`, import.meta.url)), [], {
      serialization: 'advanced',
      // Not the server's own flags (a test runner's among them); from the sources, tsx's loader.
      execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const startedAt = Date.now();
    const link: WorkerLink = {
      postMessage: (m) => {
        if (child.connected) child.send(m, undefined, {}, () => undefined);
      },
      // Only stop() ends it, with the pool's `stopping` set: its exit is not taken for a crash.
      terminate: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      },
    };
    child.send({ type: 'init', options } satisfies InitMessage);
    child.on('message', (m: FromWorker) => this.onMessage(handle, m));
    child.on('error', (err) => this.log.error({ err, worker: handle.index }, 'SFU media process error'));
    child.on('exit', (code, signal) => {
      if (this.stopping || handle.link !== link) return;
      const lived = Date.now() - startedAt;
      const next = lived >= LIVED_MS ? RESTART_MS : Math.min(RESTART_MAX_MS, Math.max(RESTART_MS, restartMs * 2));
      this.log.error({ worker: handle.index, code, signal, livedMs: lived, restartInMs: next }, 'SFU media process died: starting it again');
      // Until the next process runs, what is sent to it waits (the new offers of the participants
      // told to negotiate again among them) and goes to it first.
      const waiting: ToWorker[] = [];
      const starting: WorkerLink = { postMessage: (m) => waiting.push(m), terminate: async () => undefined };
      handle.link = starting;
      handle.restarting = true;
      this.mediaProcessDied(handle);
      const restart = (delay: number) => {
        const timer = setTimeout(() => {
          if (!this.workers.includes(handle) || handle.link !== starting) return;
          let started: WorkerLink;
          try {
            started = this.processWorker(handle, options, delay);
          } catch (err) {
            // fork itself failed (out of memory or processes): tried again later.
            const later = Math.min(RESTART_MAX_MS, delay * 2);
            this.log.error({ err, worker: handle.index, restartInMs: later }, 'SFU media process could not be started');
            restart(later);
            return;
          }
          handle.link = started;
          handle.restarting = false;
          for (const m of waiting) started.postMessage(m);
          this.retap(handle);
        }, delay);
        timer.unref();
      };
      restart(next);
    });
    return link;
  }

  /**
   * Everything on a dead media process is gone: its requests fail, its taps wait for the next one,
   * and its participants (kept on this handle, as its talks are) must offer again.
   */
  private mediaProcessDied(handle: WorkerHandle) {
    this.rejectPending(handle);
    for (const tap of this.taps) if (tap.at?.worker === handle) tap.at = null;
    this.slotsSent.delete(handle.index);
    const lost: string[] = [];
    for (const [participantId, w] of this.placement) {
      if (w !== handle) continue;
      lost.push(participantId);
      this.publishSent.delete(participantId);
    }
    if (lost.length) this.events.mediaLost(lost);
  }

  /** The taps of a worker started again, made again there: their readers get silence until the speaker's new peer. */
  private retap(handle: WorkerHandle) {
    for (const tap of this.taps) {
      if (tap.at || tap.making || this.placement.get(tap.participantId) !== handle) continue;
      void this.makeTap(tap, handle, resumedTapStart(tap.first, performance.now() - tap.madeAt)).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'could not tap a speaker again after a media restart'),
      );
    }
  }

  private rejectPending(handle: WorkerHandle) {
    for (const p of handle.pending.values()) p.reject(new Error('the media server failed'));
    handle.pending.clear();
  }

  async stop() {
    this.stopping = true;
    const all = this.workers.splice(0);
    // Each worker closes its peers first (bounded: a worker that does not answer is terminated all
    // the same; one between two media processes has none).
    await Promise.all(
      all
        .filter((w) => !w.restarting)
        .map((w) => Promise.race([this.request(w, { type: 'stop' }).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS))])),
    );
    await Promise.all(all.map((w) => w.link.terminate()));
    // What was still waiting for an answer gets none now.
    for (const w of all) this.rejectPending(w);
    this.placement.clear();
    this.talkPlacement.clear();
    this.talkOf.clear();
    this.placedOf.clear();
    this.publishSent.clear();
    this.slotsSent.clear();
    this.taps.clear();
    this.started = false;
    this.stopping = false;
  }

  private onMessage(w: WorkerHandle, m: FromWorker) {
    if (m.type === 'reply') {
      const p = w.pending.get(m.reqId);
      if (!p) return;
      w.pending.delete(m.reqId);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    } else if (m.type === 'levels') this.events.levels(m.levels);
    else if (m.type === 'peerState') this.events.peerState(m.participantId, m.state);
  }

  private request<T>(w: WorkerHandle, msg: Request): Promise<T> {
    const reqId = this.nextReq++;
    return new Promise<T>((resolve, reject) => {
      w.pending.set(reqId, { resolve: resolve as (v: unknown) => void, reject });
      w.link.postMessage({ ...msg, reqId } as ToWorker);
    });
  }

  private post(w: WorkerHandle, msg: ToWorker) {
    w.link.postMessage(msg);
  }

  /**
   * The worker a participant's media lives on. A new one goes to the least-loaded worker, or with
   * datachannel to its talk's process (the least-loaded one for a talk's first participant).
   */
  private place(talkId: string, participantId: string): WorkerHandle {
    let w = this.placement.get(participantId);
    if (!w) {
      if (this.workers.length === 0) throw new Error('the SFU is not started');
      const talk = this.byTalk ? this.talkPlacement.get(talkId) : undefined;
      w = talk?.worker ?? this.workers.reduce((a, b) => (b.peers < a.peers ? b : a));
      if (this.byTalk) {
        if (talk) talk.participants++;
        else this.talkPlacement.set(talkId, { worker: w, participants: 1 });
      }
      this.talkOf.set(participantId, talkId);
      const placed = this.placedOf.get(talkId);
      if (placed) placed.add(participantId);
      else this.placedOf.set(talkId, new Set([participantId]));
      w.peers++;
      this.placement.set(participantId, w);
    }
    return w;
  }

  /** A participant's media is gone from its worker: the worker's count, and its talk's, go down. */
  private unplace(participantId: string, w: WorkerHandle) {
    this.placement.delete(participantId);
    this.publishSent.delete(participantId);
    w.peers--;
    const talkId = this.talkOf.get(participantId);
    if (talkId === undefined) return;
    this.talkOf.delete(participantId);
    const placed = this.placedOf.get(talkId);
    placed?.delete(participantId);
    if (placed?.size === 0) this.placedOf.delete(talkId);
    const talk = this.talkPlacement.get(talkId);
    if (talk && --talk.participants <= 0) this.talkPlacement.delete(talkId);
  }

  workerOf(participantId: string): number | null {
    return this.placement.get(participantId)?.index ?? null;
  }

  /** Answers a participant's offer (one mic m-line, then receive slots). */
  answer(talkId: string, participantId: string, sdp: string, publish: boolean): Promise<string> {
    const w = this.place(talkId, participantId);
    this.publishSent.set(participantId, publish);
    return this.request<string>(w, { type: 'offer', talkId, participantId, sdp, publish });
  }

  /**
   * A candidate the client found after its offer (trickle ICE), to the worker that has its peer, if
   * the worker could use it (`usableCandidate`): a libwebrtc client trickles 4-8 (UDP and TCP, IPv4
   * and IPv6, each interface), of which the media engines take the UDP IPv4 ones, and only
   * 127.0.0.1 in loopback mode. The rest are dropped here rather than sent across to be dropped there.
   */
  addCandidate(participantId: string, candidate: IceCandidate) {
    const w = this.placement.get(participantId);
    if (w && usableCandidate(candidate.candidate, this.config.RTC_LISTEN_IP === '127.0.0.1')) this.post(w, { type: 'candidate', participantId, candidate });
  }

  setPublish(participantId: string, publish: boolean) {
    const w = this.placement.get(participantId);
    if (!w || this.publishSent.get(participantId) === publish) return;
    this.publishSent.set(participantId, publish);
    this.post(w, { type: 'publish', participantId, publish });
  }

  /** Tells every worker of the talk who is in which slot, and which workers hold its participants. */
  setSlots(talkId: string, slots: (string | null)[], participantIds: string[]) {
    const involved = new Set<WorkerHandle>();
    for (const id of participantIds) {
      const w = this.placement.get(id);
      if (w) involved.add(w);
    }
    const workers = [...involved].map((w) => w.index);
    const message = JSON.stringify([slots, workers]);
    for (const w of involved) {
      let sent = this.slotsSent.get(w.index);
      if (!sent) {
        sent = new Map();
        this.slotsSent.set(w.index, sent);
      }
      if (sent.get(talkId) === message) continue;
      sent.set(talkId, message);
      this.post(w, { type: 'slots', talkId, slots, workers });
    }
  }

  close(participantId: string) {
    const w = this.placement.get(participantId);
    if (!w) return;
    this.unplace(participantId, w);
    this.post(w, { type: 'close', participantId });
  }

  /** The talk's room closed: its participants' media goes with it (the workers close their peers themselves). */
  closeTalk(talkId: string) {
    for (const participantId of [...(this.placedOf.get(talkId) ?? [])]) {
      const w = this.placement.get(participantId);
      if (w) this.unplace(participantId, w);
    }
    for (const sent of this.slotsSent.values()) sent.delete(talkId);
    for (const w of this.workers) this.post(w, { type: 'closeTalk', talkId });
  }

  async tap(participantId: string, port: number, payloadType: number): Promise<() => Promise<void>> {
    const w = this.placement.get(participantId);
    if (!w) throw new Error('that participant has no media');
    const tap: TapRecord = { participantId, port, payloadType, first: newTapStart(), madeAt: performance.now(), making: false, at: null };
    this.taps.add(tap);
    try {
      await this.makeTap(tap, w, tap.first);
    } catch (err) {
      // Lost with a media process that died: the next one makes it (retap), so the reader gets its stream.
      if (!w.restarting || !this.workers.includes(w)) {
        this.taps.delete(tap);
        throw err;
      }
    }
    return async () => {
      this.taps.delete(tap);
      const at = tap.at;
      tap.at = null;
      // A tap on a process that died has `at` emptied (mediaProcessDied): `at` is always on the running one.
      if (at && this.workers.includes(at.worker)) await this.request(at.worker, { type: 'untap', tapId: at.tapId });
    };
  }

  private async makeTap(tap: TapRecord, w: WorkerHandle, start: TapStart) {
    tap.making = true;
    try {
      const tapId = await this.request<number>(w, { type: 'tap', participantId: tap.participantId, port: tap.port, payloadType: tap.payloadType, start });
      // Untapped while it was being made (again): it goes at once.
      if (!this.taps.has(tap)) await this.request(w, { type: 'untap', tapId });
      else tap.at = { worker: w, tapId };
    } finally {
      tap.making = false;
    }
  }

  async stats(): Promise<WorkerStats[]> {
    return Promise.all(this.workers.map((w) => this.request<WorkerStats>(w, { type: 'stats' })));
  }
}
