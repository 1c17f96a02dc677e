import os from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { FromWorker, IceCandidate, SfuWorkerOptions, ToWorker, WorkerStats } from './protocol.js';

/** How long stop() waits for each worker to close its peers before terminating it. */
const STOP_WAIT_MS = 3000;

type Request = ToWorker extends infer M ? (M extends { reqId: number } ? Omit<M, 'reqId'> : never) : never;

interface WorkerHandle {
  index: number;
  worker: Worker;
  peers: number;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
}

export interface SfuEvents {
  levels(levels: [string, number][]): void;
  peerState(participantId: string, state: string): void;
}

/**
 * The media plane: SFU_WORKERS worker threads (0 = one per core) running werift, connected
 * pairwise by MessagePorts so a talk's listeners can sit on any worker. Participants are placed
 * on the least-loaded worker; a publisher's packets reach the other workers of its talk by relay.
 */
export class SfuPool {
  private readonly workers: WorkerHandle[] = [];
  private readonly placement = new Map<string, WorkerHandle>();
  /**
   * The publish flag each worker last got per participant. The room re-sends every participant's
   * flag after any change (each join): unchanged ones are not posted again, or a burst of N joins
   * posts N² messages to the worker whose thread also runs the handshakes.
   */
  private readonly publishSent = new Map<string, boolean>();
  private nextReq = 1;
  private started = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    private readonly events: SfuEvents,
  ) {}

  get size() {
    return this.workers.length;
  }

  async start() {
    if (this.started) return;
    this.started = true;
    // node-datachannel can live in one thread of a process only: loaded in a second worker, its
    // callbacks entered the other thread's V8 isolate and the process aborted ("HandleScope::HandleScope
    // Entering the V8 API without proper locking in place"). libdatachannel runs ICE, DTLS and SRTP in
    // its own threads, so its one worker thread only rewrites and hands over packets.
    const datachannel = this.config.SFU_ENGINE === 'datachannel';
    const n = datachannel ? 1 : this.config.SFU_WORKERS || os.availableParallelism();
    if (datachannel && this.config.SFU_WORKERS > 1)
      this.log.warn({ SFU_WORKERS: this.config.SFU_WORKERS }, 'SFU_ENGINE=datachannel runs one SFU worker thread');
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
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
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
      const url = new URL(`./${datachannel ? 'dc-worker' : 'worker'}${ext}`, import.meta.url);
      const init = { workerData: { options, relayPorts: ports[i] }, transferList: Object.values(ports[i]) };
      // Running from sources (tsx), the worker registers tsx's loader before importing the TypeScript.
      const worker =
        ext === '.ts'
          ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`, { ...init, eval: true })
          : new Worker(url, init);
      const handle: WorkerHandle = { index: i, worker, peers: 0, pending: new Map() };
      worker.on('message', (m: FromWorker) => this.onMessage(handle, m));
      worker.on('error', (err) => {
        this.log.error({ err, worker: i }, 'SFU worker failed');
        for (const p of handle.pending.values()) p.reject(new Error('the media server failed'));
        handle.pending.clear();
      });
      this.workers.push(handle);
    }
    this.log.info({ workers: n, engine: this.config.SFU_ENGINE }, 'SFU workers started');
  }

  async stop() {
    const all = this.workers.splice(0);
    // Each worker closes its peers first (bounded: a worker that does not answer is terminated all the same).
    await Promise.all(
      all.map((w) => Promise.race([this.request(w, { type: 'stop' }).catch(() => undefined), new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS))])),
    );
    await Promise.all(all.map((w) => w.worker.terminate()));
    this.placement.clear();
    this.publishSent.clear();
    this.started = false;
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
      w.worker.postMessage({ ...msg, reqId });
    });
  }

  private post(w: WorkerHandle, msg: ToWorker) {
    w.worker.postMessage(msg);
  }

  /** The worker a participant's media lives on (placing it on the least-loaded one if new). */
  private place(participantId: string): WorkerHandle {
    let w = this.placement.get(participantId);
    if (!w) {
      if (this.workers.length === 0) throw new Error('the SFU is not started');
      w = this.workers.reduce((a, b) => (b.peers < a.peers ? b : a));
      w.peers++;
      this.placement.set(participantId, w);
    }
    return w;
  }

  workerOf(participantId: string): number | null {
    return this.placement.get(participantId)?.index ?? null;
  }

  /** Answers a participant's offer (one mic m-line, then receive slots). */
  answer(talkId: string, participantId: string, sdp: string, publish: boolean): Promise<string> {
    const w = this.place(participantId);
    this.publishSent.set(participantId, publish);
    return this.request<string>(w, { type: 'offer', talkId, participantId, sdp, publish });
  }

  /** A candidate the client found after its offer (trickle ICE), to the worker that has its peer. */
  addCandidate(participantId: string, candidate: IceCandidate) {
    const w = this.placement.get(participantId);
    if (w) this.post(w, { type: 'candidate', participantId, candidate });
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
    for (const w of involved) this.post(w, { type: 'slots', talkId, slots, workers });
  }

  close(participantId: string) {
    const w = this.placement.get(participantId);
    if (!w) return;
    this.placement.delete(participantId);
    this.publishSent.delete(participantId);
    w.peers--;
    this.post(w, { type: 'close', participantId });
  }

  closeTalk(talkId: string) {
    for (const w of this.workers) this.post(w, { type: 'closeTalk', talkId });
  }

  async tap(participantId: string, port: number, payloadType: number): Promise<() => Promise<void>> {
    const w = this.placement.get(participantId);
    if (!w) throw new Error('that participant has no media');
    const tapId = await this.request<number>(w, { type: 'tap', participantId, port, payloadType });
    return async () => {
      if (this.workers.includes(w)) await this.request(w, { type: 'untap', tapId });
    };
  }

  async stats(): Promise<WorkerStats[]> {
    return Promise.all(this.workers.map((w) => this.request<WorkerStats>(w, { type: 'stats' })));
  }
}
