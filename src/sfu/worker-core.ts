import { createSocket, type Socket } from 'node:dgram';
import type { MessagePort } from 'node:worker_threads';
import type { PoolPort } from './link.js';
import type { FromWorker, IceCandidate, RelayedPacket, SfuWorkerOptions, ToWorker, WorkerStats } from './protocol.js';
import { RtpTap } from './tap.js';

/**
 * The engine-independent half of an SFU worker thread, shared by the werift engine (`worker.ts`)
 * and the datachannel engine (`dc-worker.ts`): the talks and their slots, who may publish, the
 * negotiation turns and join timings, the taps, relaying to the other workers, levels, and the
 * worker protocol's messages. An engine brings only the peer connections: it negotiates a peer,
 * adds candidates, writes a packet into a subscriber's slot, and closes a peer's media.
 */

/** What the core knows of a peer; an engine's peer adds its connection and tracks. */
export interface CorePeer {
  participantId: string;
  talkId: string;
  publish: boolean;
  /** Smoothed speaking level 0..1. */
  level: number;
  taps: Map<number, Tap>;
  closed: boolean;
}

/** A copy of one speaker's RTP sent to a local port (recorder, captions, audience stream): see tap.ts. */
export interface Tap {
  participantId: string;
  socket: Socket;
  rtp: RtpTap;
  /**
   * The speaker's peer; null while they have none on this worker (they left, or reconnect: a new
   * peer of the same participant takes the tap over). An untap, or ORPHAN_TAP_MS without a peer, closes it.
   */
  peer: CorePeer | null;
  orphanTimer: NodeJS.Timeout | null;
}

export interface TalkState<P> {
  slots: (string | null)[];
  workers: number[];
  peers: Set<P>;
}

export type OfferMessage = Extract<ToWorker, { type: 'offer' }>;

export interface MediaEngine<P extends CorePeer> {
  /**
   * Makes the peer for an offer (registering it with `core.addPeer`) and resolves to the answer.
   * `giveBack` ends the negotiation turn (at connected, failed or closed); `onConnected` times the join.
   */
  negotiate(msg: OfferMessage, giveBack: () => void, onConnected: () => void): Promise<string>;
  addCandidate(peer: P, candidate: IceCandidate): Promise<void> | void;
  /** Writes one packet (a plain 12-byte header and the payload) into slot `slot` of `sub`; false if it was not sent. */
  sendToSlot(sub: P, slot: number, from: string, packet: Buffer, now: number): boolean;
  /** Closes the peer's connection (its bookkeeping is done); called on a later tick. */
  closeMedia(peer: P): void;
  connected(peer: P): boolean;
  /** Before the worker is terminated (the pool's `stop`), after every peer and tap was closed. */
  stop?(): Promise<void>;
}

/** How long the tap of a speaker who left waits for its untap, or for the speaker to come back. */
const ORPHAN_TAP_MS = 60_000;
/** The clock that paces the silence taps send through a speaker's gaps (runs only while there are taps). */
const TAP_TICK_MS = 20;
/**
 * A turn is given back when the peer connects, fails or closes, or after this long regardless. A turn
 * bounds the handshakes in flight, most of whose time is network round trips: a client far away
 * (three or four round trips to connect) keeps connecting outside its turn, so the worker still starts
 * at least SFU_NEGOTIATIONS joins per half second; one that never connects (broken or hostile) delays
 * the joins behind it by at most this long.
 */
const NEGOTIATION_TURN_MS = 500;
/** The latest joins' timings (WorkerStats.joins). */
const JOIN_TIMINGS_KEPT = 1000;

export class WorkerCore<P extends CorePeer> {
  readonly peers = new Map<string, P>();
  readonly talks = new Map<string, TalkState<P>>();
  forwardedPackets = 0;
  receivedPackets = 0;
  private engine: MediaEngine<P> | null = null;
  private nextTapId = 1;
  private readonly tapsById = new Map<number, Tap>();
  private tapClock: NodeJS.Timeout | null = null;
  /**
   * Joins the worker negotiates at once (offer to connected: SDP, ICE, DTLS); the others wait their
   * turn in arrival order. The same thread forwards the talk's audio: with a hundred handshakes in
   * flight, each turn of its event loop ran so much of them that packets to those already listening
   * went out late. bench:sfu, 100 arriving in about a second: concealment while they joined 1.3-5.2%
   * with no limit, 1.7-2.8% with 8 at once, 0.6% with 4; join p50 / p99 460-763 / 1,038-1,504 ms
   * with no limit, 476-687 / 844-951 ms with 8, 956-1,456 / 1,783-2,968 ms with 4.
   */
  private negotiations = 0;
  private readonly waitingTurns: (() => void)[] = [];
  private readonly joinTimings: WorkerStats['joins'] = [];
  /**
   * Offers waiting for a turn, by participant. A participant who leaves (or whose talk closes) while
   * its offer waits has no peer yet for `close` to find: its offer is marked and dropped at its turn.
   */
  private readonly waitingOffers = new Map<string, { talkId: string; cancelled: boolean }>();
  /** Trickled candidates received (WorkerStats.candidates). */
  private candidates = 0;

  constructor(
    readonly options: SfuWorkerOptions,
    private readonly port: PoolPort,
    private readonly relayPorts: Record<number, MessagePort>,
  ) {}

  send(m: FromWorker): void {
    this.port.postMessage(m);
  }

  /** Starts serving the worker protocol with this engine's peers. */
  run(engine: MediaEngine<P>): void {
    this.engine = engine;
    for (const p of Object.values(this.relayPorts)) {
      p.on('message', (m: RelayedPacket) => {
        const talk = this.talks.get(m.talkId);
        if (talk) this.forwardLocal(talk, m.slot, m.from, m.packet);
      });
    }
    setInterval(() => {
      const levels: [string, number][] = [];
      for (const p of this.peers.values()) if (p.publish) levels.push([p.participantId, Math.round(p.level * 100) / 100]);
      if (levels.length) this.send({ type: 'levels', levels });
    }, 200).unref();
    this.port.on('message', (msg: ToWorker) => {
      this.handle(msg).then(
        (value) => {
          if ('reqId' in msg) this.send({ type: 'reply', reqId: msg.reqId, ok: true, value });
        },
        (err: Error) => {
          if ('reqId' in msg) this.send({ type: 'reply', reqId: msg.reqId, ok: false, error: err.message });
        },
      );
    });
  }

  talkState(talkId: string): TalkState<P> {
    let t = this.talks.get(talkId);
    if (!t) {
      t = { slots: [], workers: [], peers: new Set() };
      this.talks.set(talkId, t);
    }
    return t;
  }

  /** A new peer: it replaces the participant's old one and takes over their taps. */
  addPeer(peer: P): void {
    const old = this.peers.get(peer.participantId);
    if (old && old !== peer) this.closePeer(old);
    this.peers.set(peer.participantId, peer);
    this.talkState(peer.talkId).peers.add(peer);
    this.adoptTaps(peer);
  }

  closePeer(peer: P): void {
    if (peer.closed) return;
    peer.closed = true;
    if (this.peers.get(peer.participantId) === peer) this.peers.delete(peer.participantId);
    // Taps stay open, sending silence, for their untap or for the participant's next peer.
    for (const [id, tap] of peer.taps) this.orphanTap(id, tap);
    peer.taps.clear();
    const talk = this.talks.get(peer.talkId);
    talk?.peers.delete(peer);
    if (talk && talk.peers.size === 0 && talk.slots.length === 0) this.talks.delete(peer.talkId);
    // Closing is spread over ticks: many simultaneous closes otherwise stall the loop.
    setImmediate(() => this.engine?.closeMedia(peer));
  }

  /**
   * A packet a peer published: counted, dropped unless the room lets them publish, ranked by
   * `level`, then (stripped to a plain header by `strip`, only when someone needs it) sent to their
   * taps, their slot's local subscribers and the other workers with listeners of the talk.
   */
  onPublisherPacket(peer: P, level: number, strip: () => Buffer | null): void {
    this.receivedPackets++;
    if (!peer.publish || peer.closed) return; // a participant who may not speak: dropped here
    peer.level = peer.level * 0.8 + level * 0.2;
    const talk = this.talks.get(peer.talkId);
    if (!talk) return;
    const slot = talk.slots.indexOf(peer.participantId);
    if (slot < 0 && peer.taps.size === 0) return;
    const packet = strip();
    if (!packet) return;
    if (peer.taps.size > 0) {
      const now = performance.now();
      for (const tap of peer.taps.values()) tap.rtp.forward(packet, now);
    }
    if (slot < 0) return;
    this.forwardLocal(talk, slot, peer.participantId, packet);
    for (const w of talk.workers) {
      if (w === this.options.index) continue;
      const relay: RelayedPacket = { talkId: peer.talkId, slot, from: peer.participantId, packet };
      this.relayPorts[w]?.postMessage(relay);
    }
  }

  private forwardLocal(talk: TalkState<P>, slot: number, from: string, packet: Uint8Array): void {
    const engine = this.engine;
    if (!engine) return;
    const buf = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const now = performance.now();
    for (const sub of talk.peers) {
      if (sub.participantId === from || sub.closed) continue;
      if (engine.sendToSlot(sub, slot, from, buf, now)) this.forwardedPackets++;
    }
  }

  /** Waits for a negotiation turn; resolves to the function that gives it back (once). */
  private async negotiationTurn(): Promise<() => void> {
    if (this.negotiations >= this.options.negotiations) await new Promise<void>((resolve) => this.waitingTurns.push(resolve));
    else this.negotiations++;
    let given = false;
    const timer = setTimeout(() => giveBack(), NEGOTIATION_TURN_MS);
    const giveBack = () => {
      if (given) return;
      given = true;
      clearTimeout(timer);
      const next = this.waitingTurns.shift();
      if (next) next();
      else this.negotiations--;
    };
    return giveBack;
  }

  private async handleOffer(engine: MediaEngine<P>, msg: OfferMessage): Promise<string> {
    const arrived = performance.now();
    const arrivedAt = Date.now();
    const waiting = { talkId: msg.talkId, cancelled: false };
    this.waitingOffers.set(msg.participantId, waiting);
    const giveBack = await this.negotiationTurn();
    // Turns come in arrival order: a newer offer of the same participant still waiting replaces this one.
    const superseded = this.waitingOffers.get(msg.participantId) !== waiting;
    if (!superseded) this.waitingOffers.delete(msg.participantId);
    if (waiting.cancelled || superseded) {
      giveBack();
      throw new Error(superseded ? 'a newer offer replaced this one' : 'the participant left before its media was negotiated');
    }
    const timing: WorkerStats['joins'][number] = { arrivedAt, turnMs: Math.round(performance.now() - arrived), answerMs: 0, connectedMs: null };
    this.joinTimings.push(timing);
    if (this.joinTimings.length > JOIN_TIMINGS_KEPT) this.joinTimings.shift();
    try {
      const answer = await engine.negotiate(msg, giveBack, () => {
        timing.connectedMs ??= Math.round(performance.now() - arrived);
      });
      timing.answerMs = Math.round(performance.now() - arrived);
      return answer;
    } catch (err) {
      giveBack();
      throw err;
    }
  }

  /** Closes a tap, with its closing packet (see RtpTap.close) sent before the socket closes. */
  private closeTap(tapId: number): void {
    const tap = this.tapsById.get(tapId);
    if (!tap) return;
    this.tapsById.delete(tapId);
    tap.peer?.taps.delete(tapId);
    if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
    tap.rtp.close(() => tap.socket.close());
    if (this.tapsById.size === 0 && this.tapClock) {
      clearInterval(this.tapClock);
      this.tapClock = null;
    }
  }

  /** A tap without a peer waits ORPHAN_TAP_MS for one (or for its untap). */
  private orphanTap(id: number, tap: Tap): void {
    tap.peer = null;
    if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
    tap.orphanTimer = setTimeout(() => this.closeTap(id), ORPHAN_TAP_MS);
    tap.orphanTimer.unref();
  }

  /** A new peer of a participant (a reconnect, a renegotiation) takes over the taps of the old one. */
  private adoptTaps(peer: P): void {
    for (const [id, tap] of this.tapsById) {
      if (tap.participantId !== peer.participantId || tap.peer === peer) continue;
      tap.peer?.taps.delete(id);
      if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
      tap.orphanTimer = null;
      tap.peer = peer;
      peer.taps.set(id, tap);
    }
  }

  private async handle(msg: ToWorker): Promise<unknown> {
    const engine = this.engine as MediaEngine<P>;
    switch (msg.type) {
      case 'offer':
        return this.handleOffer(engine, msg);
      case 'candidate': {
        // The signalling answers one message at a time, so a candidate comes after its offer's answer.
        this.candidates++;
        const p = this.peers.get(msg.participantId);
        if (p && !p.closed) await engine.addCandidate(p, msg.candidate);
        return null;
      }
      case 'publish': {
        const p = this.peers.get(msg.participantId);
        if (p) {
          p.publish = msg.publish;
          if (!msg.publish) p.level = 0;
        }
        return null;
      }
      case 'slots': {
        const t = this.talkState(msg.talkId);
        t.slots = msg.slots;
        t.workers = msg.workers;
        return null;
      }
      case 'close': {
        const p = this.peers.get(msg.participantId);
        if (p) this.closePeer(p);
        const waiting = this.waitingOffers.get(msg.participantId);
        if (waiting) waiting.cancelled = true;
        return null;
      }
      case 'closeTalk': {
        for (const waiting of this.waitingOffers.values()) if (waiting.talkId === msg.talkId) waiting.cancelled = true;
        const t = this.talks.get(msg.talkId);
        if (t) for (const p of [...t.peers]) this.closePeer(p);
        this.talks.delete(msg.talkId);
        return null;
      }
      case 'tap': {
        const socket = createSocket('udp4');
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.connect(msg.port, '127.0.0.1', () => resolve());
        });
        socket.on('error', () => undefined);
        // A participant between two peers (reconnecting, renegotiating) is tapped all the same: their
        // next peer takes the tap over, and the reader gets silence meanwhile. Their peer is looked up
        // only now: one that arrived while the socket connected has adopted the taps it could find
        // already, and a tap registered as an orphan after that stayed silent for good.
        const p = this.peers.get(msg.participantId) ?? null;
        const id = this.nextTapId++;
        const tap: Tap = {
          participantId: msg.participantId,
          socket,
          rtp: new RtpTap(socket, msg.payloadType, performance.now(), msg.start),
          peer: p,
          orphanTimer: null,
        };
        this.tapsById.set(id, tap);
        if (p) p.taps.set(id, tap);
        else this.orphanTap(id, tap);
        this.tapClock ??= setInterval(() => {
          const now = performance.now();
          for (const t of this.tapsById.values()) t.rtp.fill(now);
        }, TAP_TICK_MS);
        return id;
      }
      case 'untap': {
        this.closeTap(msg.tapId);
        return null;
      }
      case 'stop': {
        if (!engine.stop) return null;
        for (const tapId of [...this.tapsById.keys()]) this.closeTap(tapId);
        for (const p of [...this.peers.values()]) this.closePeer(p);
        await engine.stop();
        return null;
      }
      case 'stats': {
        const u = process.cpuUsage();
        let connected = 0;
        for (const p of this.peers.values()) if (engine.connected(p)) connected++;
        const stats: WorkerStats = {
          peers: this.peers.size,
          connected,
          forwardedPackets: this.forwardedPackets,
          receivedPackets: this.receivedPackets,
          cpuMicros: u.user + u.system,
          pid: process.pid,
          waitingOffers: this.waitingOffers.size,
          candidates: this.candidates,
          joins: this.joinTimings,
        };
        return stats;
      }
    }
  }
}
