import { createSocket, type Socket } from 'node:dgram';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { PeerConnection, type RtcConfig, type Track } from 'node-datachannel';
import { isRtcp, levelOf, type OfferedMedia, offeredMedia, SlotWriter, strip } from './dc-rtp.js';
import { usableCandidate, usableOffer } from './offer.js';
import type { FromWorker, RelayedPacket, SfuWorkerOptions, ToWorker, WorkerStats } from './protocol.js';
import { RtpTap } from './tap.js';

/**
 * One SFU worker thread of the datachannel engine (SFU_ENGINE=datachannel): the same protocol as
 * `worker.ts` (werift), with the peer connections in libdatachannel (C++, through node-datachannel).
 * ICE, DTLS and SRTP run in libdatachannel's own threads; this thread gets each received packet
 * decrypted, rewrites each subscriber's copy (`dc-rtp.ts`) and hands it back to be encrypted and sent.
 */
const { options, relayPorts } = workerData as { options: SfuWorkerOptions; relayPorts: Record<number, MessagePort> };
const port = parentPort as NonNullable<typeof parentPort>;
const loopback = options.listenIp === '127.0.0.1';
const send = (m: FromWorker) => port.postMessage(m);

interface Slot {
  /**
   * The slot's track. Held here for as long as the peer lives: libdatachannel's Track object that
   * nothing in JavaScript references is garbage-collected, and its packets stop.
   */
  track: Track;
  writer: SlotWriter;
}

interface Peer {
  participantId: string;
  talkId: string;
  pc: PeerConnection;
  /** The client's microphone track (the offer's first m-line), held for the same reason as the slots'. */
  mic: Track | null;
  slots: Slot[];
  media: OfferedMedia[];
  publish: boolean;
  levelExtId: number | null;
  level: number;
  taps: Map<number, Tap>;
  closed: boolean;
  /** What the connection's state callback reaches the peer through (emptied when it closes). */
  held: { peer: Peer | null } | null;
}

interface Tap {
  participantId: string;
  socket: Socket;
  rtp: RtpTap;
  peer: Peer | null;
  orphanTimer: NodeJS.Timeout | null;
}

const ORPHAN_TAP_MS = 60_000;
const TAP_TICK_MS = 20;

interface TalkState {
  slots: (string | null)[];
  workers: number[];
  peers: Set<Peer>;
}

const peers = new Map<string, Peer>();
const talks = new Map<string, TalkState>();
let forwardedPackets = 0;
let receivedPackets = 0;
let nextTapId = 1;
const tapsById = new Map<number, Tap>();
let tapClock: NodeJS.Timeout | null = null;

function talkState(talkId: string): TalkState {
  let t = talks.get(talkId);
  if (!t) {
    t = { slots: [], workers: [], peers: new Set() };
    talks.set(talkId, t);
  }
  return t;
}

/**
 * libdatachannel's ICE servers: `stun:host:port` as is, TURN with its credentials in the URL
 * (`turn:user:password@host:port`), as libdatachannel parses them.
 */
function iceServers(): string[] {
  return options.iceServers.map((s) => {
    if (!/^turns?:/i.test(s.urls) || !s.username) return s.urls;
    const [scheme, rest] = [s.urls.slice(0, s.urls.indexOf(':')), s.urls.slice(s.urls.indexOf(':') + 1)];
    return `${scheme}:${encodeURIComponent(s.username)}:${encodeURIComponent(s.credential ?? '')}@${rest}`;
  });
}

/**
 * All the worker's peers share one UDP port (the first of its slice of RTC_PORT_MIN..MAX): libjuice
 * demultiplexes by ICE username. 200 idle connected peers cost 2.3% of a core so, 4.65% with a port each.
 */
function rtcConfig(): RtcConfig {
  return {
    iceServers: iceServers(),
    ...(loopback || options.listenIp !== '0.0.0.0' ? { bindAddress: options.listenIp } : {}),
    ...(options.portRange ? { portRangeBegin: options.portRange[0], portRangeEnd: options.portRange[1], enableIceUdpMux: true } : {}),
  };
}

/** Header extensions the worker reads (MID routes, audio level ranks); libdatachannel echoes every offered one. */
const KEPT_EXTENSIONS = /urn:ietf:params:rtp-hdrext:(sdes:mid|ssrc-audio-level)\s*$/;

/**
 * The offer as libdatachannel gets it: usableOffer's (Opus only, usable candidates), without the
 * header extensions and feedback the worker does not implement. libdatachannel answers with every
 * extension and `rtcp-fb` offered: a client told transport-cc was agreed would wait for feedback
 * this worker never sends.
 */
function datachannelOffer(sdp: string): string {
  return usableOffer(sdp, loopback)
    .split('\r\n')
    .filter((line) => {
      if (line.startsWith('a=extmap:')) return KEPT_EXTENSIONS.test(line);
      if (line.startsWith('a=rtcp-fb:')) return !/ transport-cc$/.test(line);
      return true;
    })
    .join('\r\n');
}

/** The answer as the client gets it: only reachable candidates, and no `a=ssrc` lines (see README, slots). */
function clientAnswer(sdp: string): string {
  const reachable = loopback ? '127.0.0.1' : options.announcedIp;
  return sdp
    .split(/\r?\n/)
    .filter((line) => {
      if (line.startsWith('a=candidate:')) return !reachable || line.split(' ')[4] === reachable;
      return !line.startsWith('a=ssrc:') && !line.startsWith('a=ssrc-group:');
    })
    .join('\r\n');
}

/** An announced address replaces the bound one in the answer's candidates (libdatachannel announces its interfaces). */
function announced(sdp: string): string {
  if (!options.announcedIp || loopback) return sdp;
  const ip = options.announcedIp;
  return sdp.replace(/^(a=candidate:\S+ \d+ UDP \d+ )(\S+)( \d+ typ host)/gim, (_m, a: string, _addr: string, b: string) => `${a}${ip}${b}`);
}

// Negotiation turns: the same bound as the werift worker's (SFU_NEGOTIATIONS at once, turn ends at
// connected, failed or closed, or after 500 ms); see worker.ts.
const NEGOTIATIONS = options.negotiations;
const NEGOTIATION_TURN_MS = 500;
let negotiations = 0;
const waitingTurns: (() => void)[] = [];

async function negotiationTurn(): Promise<() => void> {
  if (negotiations >= NEGOTIATIONS) await new Promise<void>((resolve) => waitingTurns.push(resolve));
  else negotiations++;
  let given = false;
  const timer = setTimeout(() => giveBack(), NEGOTIATION_TURN_MS);
  const giveBack = () => {
    if (given) return;
    given = true;
    clearTimeout(timer);
    const next = waitingTurns.shift();
    if (next) next();
    else negotiations--;
  };
  return giveBack;
}

const JOIN_TIMINGS_KEPT = 1000;
const joinTimings: WorkerStats['joins'] = [];
const waitingOffers = new Map<string, { talkId: string; cancelled: boolean }>();

async function handleOffer(msg: Extract<ToWorker, { type: 'offer' }>): Promise<string> {
  const arrived = performance.now();
  const waiting = { talkId: msg.talkId, cancelled: false };
  waitingOffers.set(msg.participantId, waiting);
  const giveBack = await negotiationTurn();
  const superseded = waitingOffers.get(msg.participantId) !== waiting;
  if (!superseded) waitingOffers.delete(msg.participantId);
  if (waiting.cancelled || superseded) {
    giveBack();
    throw new Error(superseded ? 'a newer offer replaced this one' : 'the participant left before its media was negotiated');
  }
  const timing: WorkerStats['joins'][number] = { turnMs: Math.round(performance.now() - arrived), answerMs: 0, connectedMs: null };
  joinTimings.push(timing);
  if (joinTimings.length > JOIN_TIMINGS_KEPT) joinTimings.shift();
  try {
    const answer = await negotiate(msg, giveBack, () => {
      timing.connectedMs ??= Math.round(performance.now() - arrived);
    });
    timing.answerMs = Math.round(performance.now() - arrived);
    return answer;
  } catch (err) {
    giveBack();
    throw err;
  }
}

/** How long the answer waits for libdatachannel's candidate gathering (host candidates take a few ms). */
const GATHERING_MS = 3000;

async function negotiate(msg: Extract<ToWorker, { type: 'offer' }>, giveBack: () => void, onConnected: () => void): Promise<string> {
  const old = peers.get(msg.participantId);
  if (old) closePeer(old);
  const offer = datachannelOffer(msg.sdp);
  const media = offeredMedia(offer);
  const pc = new PeerConnection(msg.participantId, rtcConfig());
  const peer: Peer = {
    participantId: msg.participantId,
    talkId: msg.talkId,
    pc,
    mic: null,
    slots: [],
    media,
    publish: msg.publish,
    levelExtId: media[0]?.levelExtId ?? null,
    level: 0,
    taps: new Map(),
    closed: false,
    held: null,
  };
  peers.set(msg.participantId, peer);
  talkState(msg.talkId).peers.add(peer);
  adoptTaps(peer);
  // The state callback stays registered until the connection's wrapper is collected, so it must not
  // hold the peer (and through it the connection and its tracks): it reaches it through `held`, which
  // closePeer empties. Otherwise every closed peer stayed in memory for good.
  const held: { peer: Peer | null } = { peer };
  peer.held = held;
  pc.onStateChange((state) => {
    const p = held.peer;
    if (!p || p.closed) return;
    if (state === 'connected') onConnected();
    if (state === 'connected' || state === 'failed' || state === 'closed') giveBack();
    send({ type: 'peerState', participantId: p.participantId, state });
  });
  // libdatachannel makes a track per offered m-line as it applies the offer (reported on this thread
  // a moment later): the first is the client's microphone, the others its receive slots.
  // node-datachannel's objects throw once closed, and a throw in one of its callbacks ends the worker
  // thread (every peer on it): the callbacks catch.
  pc.onTrack((track) => {
    if (peer.closed) return;
    try {
      const index = media.findIndex((m) => m.mid === track.mid());
      if (index === 0) {
        peer.mic = track;
        track.onMessage((packet) => {
          try {
            onPublisherRtp(peer, packet);
          } catch {
            // the peer is closing
          }
        });
      } else if (index > 0) {
        const m = media[index];
        peer.slots[index - 1] = { track, writer: new SlotWriter(m.opus ?? 111, m.mid, m.midExtId) };
      }
    } catch {
      // closed meanwhile
    }
  });
  const gathered = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, GATHERING_MS);
    pc.onGatheringStateChange((state) => {
      if (state === 'complete') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  pc.setRemoteDescription(offer, 'offer');
  if (pc.gatheringState() !== 'complete') await gathered;
  if (peer.closed) throw new Error('the participant left before its media was negotiated');
  const local = pc.localDescription();
  if (!local) throw new Error('the media server made no answer');
  return clientAnswer(announced(local.sdp));
}

function onPublisherRtp(peer: Peer, packet: Buffer) {
  if (isRtcp(packet)) return;
  receivedPackets++;
  if (!peer.publish || peer.closed) return; // a participant who may not speak: dropped here
  peer.level = peer.level * 0.8 + levelOf(packet, peer.levelExtId) * 0.2;
  const talk = talks.get(peer.talkId);
  if (!talk) return;
  const slot = talk.slots.indexOf(peer.participantId);
  if (slot < 0 && peer.taps.size === 0) return;
  const stripped = strip(packet);
  if (!stripped) return;
  const now = performance.now();
  for (const tap of peer.taps.values()) tap.rtp.forward(stripped, now);
  if (slot < 0) return;
  forwardLocal(talk, slot, peer.participantId, stripped);
  for (const w of talk.workers) {
    if (w === options.index) continue;
    const relay: RelayedPacket = { talkId: peer.talkId, slot, from: peer.participantId, packet: stripped };
    relayPorts[w]?.postMessage(relay);
  }
}

function forwardLocal(talk: TalkState, slot: number, from: string, packet: Uint8Array) {
  const buf = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  const now = performance.now();
  for (const sub of talk.peers) {
    if (sub.participantId === from || sub.closed) continue;
    const s = sub.slots[slot];
    if (!s) continue;
    try {
      if (!s.track.isOpen()) continue;
      forwardedPackets++;
      s.track.sendMessageBinary(s.writer.write(buf, from, now));
    } catch {
      // The track closed (the peer is going).
    }
  }
}

for (const p of Object.values(relayPorts)) {
  p.on('message', (m: RelayedPacket) => {
    const talk = talks.get(m.talkId);
    if (talk) forwardLocal(talk, m.slot, m.from, m.packet);
  });
}

function closeTap(tapId: number) {
  const tap = tapsById.get(tapId);
  if (!tap) return;
  tapsById.delete(tapId);
  tap.peer?.taps.delete(tapId);
  if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
  tap.rtp.close(() => tap.socket.close());
  if (tapsById.size === 0 && tapClock) {
    clearInterval(tapClock);
    tapClock = null;
  }
}

function orphanTap(id: number, tap: Tap) {
  tap.peer = null;
  if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
  tap.orphanTimer = setTimeout(() => closeTap(id), ORPHAN_TAP_MS);
  tap.orphanTimer.unref();
}

function adoptTaps(peer: Peer) {
  for (const [id, tap] of tapsById) {
    if (tap.participantId !== peer.participantId || tap.peer === peer) continue;
    tap.peer?.taps.delete(id);
    if (tap.orphanTimer) clearTimeout(tap.orphanTimer);
    tap.orphanTimer = null;
    tap.peer = peer;
    peer.taps.set(id, tap);
  }
}

/** Peers whose close is queued (see closePeer). */
const closing = new Set<Peer>();
/** Garbage collections `stop` runs (each followed by a turn of the loop, where finalizers run). */
const STOP_GC_ROUNDS = 5;
v8.setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function closePeer(peer: Peer) {
  if (peer.closed) return;
  peer.closed = true;
  peers.delete(peer.participantId);
  for (const [id, tap] of peer.taps) orphanTap(id, tap);
  peer.taps.clear();
  const talk = talks.get(peer.talkId);
  talk?.peers.delete(peer);
  if (talk && talk.peers.size === 0 && talk.slots.length === 0) talks.delete(peer.talkId);
  // Spread over ticks, as in the werift worker; the tracks are released only after the close.
  closing.add(peer);
  setImmediate(() => {
    // Each track's close drops its message callback, which holds the peer: with it registered, the
    // track, the peer and the connection could never be collected.
    for (const track of [peer.mic, ...peer.slots.map((s) => s.track)]) {
      try {
        track?.close();
      } catch {
        // already closed
      }
    }
    try {
      peer.pc.close();
    } catch {
      // already closed
    }
    if (peer.held) peer.held.peer = null;
    peer.mic = null;
    peer.slots = [];
    closing.delete(peer);
  });
}

setInterval(() => {
  const levels: [string, number][] = [];
  for (const p of peers.values()) if (p.publish) levels.push([p.participantId, Math.round(p.level * 100) / 100]);
  if (levels.length) send({ type: 'levels', levels });
}, 200).unref();

async function handle(msg: ToWorker) {
  switch (msg.type) {
    case 'offer':
      return handleOffer(msg);
    case 'candidate': {
      const p = peers.get(msg.participantId);
      if (p && !p.closed && usableCandidate(msg.candidate.candidate, loopback)) {
        try {
          p.pc.addRemoteCandidate(msg.candidate.candidate.replace(/^a=/, ''), msg.candidate.sdpMid ?? p.media[0]?.mid ?? '0');
        } catch {
          // A candidate libdatachannel cannot parse or pair: the client is found from its checks anyway.
        }
      }
      return null;
    }
    case 'publish': {
      const p = peers.get(msg.participantId);
      if (p) {
        p.publish = msg.publish;
        if (!msg.publish) p.level = 0;
      }
      return null;
    }
    case 'slots': {
      const t = talkState(msg.talkId);
      t.slots = msg.slots;
      t.workers = msg.workers;
      return null;
    }
    case 'close': {
      const p = peers.get(msg.participantId);
      if (p) closePeer(p);
      const waiting = waitingOffers.get(msg.participantId);
      if (waiting) waiting.cancelled = true;
      return null;
    }
    case 'closeTalk': {
      for (const waiting of waitingOffers.values()) if (waiting.talkId === msg.talkId) waiting.cancelled = true;
      const t = talks.get(msg.talkId);
      if (t) for (const p of [...t.peers]) closePeer(p);
      talks.delete(msg.talkId);
      return null;
    }
    case 'tap': {
      const p = peers.get(msg.participantId) ?? null;
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.connect(msg.port, '127.0.0.1', () => resolve());
      });
      socket.on('error', () => undefined);
      const id = nextTapId++;
      const tap: Tap = { participantId: msg.participantId, socket, rtp: new RtpTap(socket, msg.payloadType, performance.now()), peer: p, orphanTimer: null };
      tapsById.set(id, tap);
      if (p) p.taps.set(id, tap);
      else orphanTap(id, tap);
      tapClock ??= setInterval(() => {
        const now = performance.now();
        for (const t of tapsById.values()) t.rtp.fill(now);
      }, TAP_TICK_MS);
      return id;
    }
    case 'untap': {
      closeTap(msg.tapId);
      return null;
    }
    case 'stop': {
      // A worker's teardown finalizes node-datachannel's objects in an order that aborts the process
      // (a Track's finalizer releases a thread-safe function already freed: SIGABRT in
      // napi_release_threadsafe_function, or SIGBUS). So every peer is closed, and the garbage
      // collector run until their objects are finalized while the worker still lives.
      // node-datachannel's cleanup() is not called: it closes every Track it ever made, including
      // collected ones (SIGBUS in rtc::Track::close).
      for (const tapId of [...tapsById.keys()]) closeTap(tapId);
      for (const p of [...peers.values()]) closePeer(p);
      while (closing.size > 0) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < STOP_GC_ROUNDS; i++) {
        collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return null;
    }
    case 'stats': {
      const u = process.cpuUsage();
      let connected = 0;
      for (const p of peers.values()) {
        try {
          if (p.pc.state() === 'connected') connected++;
        } catch {
          // closed
        }
      }
      return { peers: peers.size, connected, forwardedPackets, receivedPackets, cpuMicros: u.user + u.system, joins: joinTimings };
    }
  }
}

port.on('message', (msg: ToWorker) => {
  handle(msg).then(
    (value) => {
      if ('reqId' in msg) send({ type: 'reply', reqId: msg.reqId, ok: true, value });
    },
    (err: Error) => {
      if ('reqId' in msg) send({ type: 'reply', reqId: msg.reqId, ok: false, error: err.message });
    },
  );
});
