import { createPrivateKey, createPublicKey, createSign, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { RTCPeerConnection as PeerConnection, RTCRtpTransceiver, RtpPacket } from 'werift';
import type { SfuWorkerOptions } from './protocol.js';
import { forwarded, sendForwarded } from './forward.js';
import { usableCandidate, usableOffer } from './offer.js';
import { PortCursor } from './ports.js';
import { type CorePeer, type MediaEngine, type OfferMessage, WorkerCore } from './worker-core.js';

// werift's CommonJS build, so that its UDP port finder (an internal module) can be replaced: see PortCursor.
const require = createRequire(import.meta.url);
const werift = require('werift') as typeof import('werift');
const { RTCPeerConnection, useAudioLevelIndication, useOPUS, useSdesMid } = werift;
const network = require(path.join(path.dirname(require.resolve('werift')), '../../common/src/network.js')) as {
  findPort: (min: number, max: number, protocol?: string, interfaces?: Record<string, string>) => Promise<number>;
};
const portCursor = new PortCursor();
network.findPort = (min, max, protocol = 'udp4', interfaces) => portCursor.find(min, max, protocol as 'udp4' | 'udp6', interfaces?.[protocol]);

// werift's DTLS does its X25519 key exchange (the curve libwebrtc and browsers pick) in tweetnacl's
// JavaScript: 1.9 ms of this thread per handshake against 0.7 ms with Node's native X25519
// (measured), in every join. Its two calls are replaced on the tweetnacl module werift loads.
const nacl = require(require.resolve('tweetnacl', { paths: [path.dirname(require.resolve('werift'))] })) as {
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
  scalarMult: (n: Uint8Array, p: Uint8Array) => Uint8Array;
};
/** DER prefixes of a raw 32-byte X25519 key (RFC 8410): SubjectPublicKeyInfo and PKCS #8. */
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
/** The raw key at the end of a DER export, in its own buffer (werift wraps the `.buffer`). */
const rawKey = (der: Buffer) => new Uint8Array(der.subarray(der.length - 32));
/** The private key objects of the secret keys made below, by their buffer: no re-import per exchange. */
const privateKeys = new WeakMap<ArrayBufferLike, KeyObject>();
nacl.box.keyPair = () => {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const secretKey = rawKey(privateKey.export({ format: 'der', type: 'pkcs8' }));
  privateKeys.set(secretKey.buffer, privateKey);
  return { publicKey: rawKey(publicKey.export({ format: 'der', type: 'spki' })), secretKey };
};
nacl.scalarMult = (n, p) =>
  new Uint8Array(
    diffieHellman({
      privateKey: privateKeys.get(n.buffer) ?? createPrivateKey({ key: Buffer.concat([X25519_PKCS8, n]), format: 'der', type: 'pkcs8' }),
      publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, p]), format: 'der', type: 'spki' }),
    }),
  );

// werift reads its one DTLS certificate again for every join: each handshake parses the key and the
// certificate from PEM (0.19 ms) and signs with the key as PEM, which Node parses again (0.85 ms against
// 0.05 ms with a key object), and each answer hashes the certificate for its fingerprint once per m-line.
// Profiled over 110 joins: 3.6 ms a join of this thread (createAnswer 186 ms in all, 54 after). The parsed key
// and certificate, a key object to sign with, and the fingerprints are kept instead.
interface DtlsPrivateKey {
  toPEM(): string;
  sign(data: Buffer, hash: string): Buffer;
}
interface CipherContextInstance {
  localCert: Buffer;
  localPrivateKey: DtlsPrivateKey;
  signatureHashAlgorithm: unknown;
}
const cipherContext = (werift as unknown as { CipherContext: { prototype: { parseX509(cert: string, key: string, hash: unknown): void } } }).CipherContext
  .prototype;
const parseX509 = cipherContext.parseX509;
const parsedCertificates = new Map<string, { localCert: Buffer; localPrivateKey: DtlsPrivateKey }>();
cipherContext.parseX509 = function (this: CipherContextInstance, certPem: string, keyPem: string, signatureHash: unknown) {
  const key = `${certPem}\n${keyPem}`;
  let parsed = parsedCertificates.get(key);
  if (!parsed) {
    parseX509.call(this, certPem, keyPem, signatureHash);
    const privateKey = this.localPrivateKey;
    const keyObject = createPrivateKey(privateKey.toPEM());
    privateKey.sign = (data, hash) => createSign(hash).update(data).sign(keyObject);
    parsed = { localCert: this.localCert, localPrivateKey: privateKey };
    parsedCertificates.set(key, parsed);
  }
  this.localCert = parsed.localCert;
  this.localPrivateKey = parsed.localPrivateKey;
  this.signatureHashAlgorithm = signatureHash;
};
const certificate = (werift as unknown as { RTCCertificate: { prototype: { getFingerprints(): unknown[] } } }).RTCCertificate.prototype;
const getFingerprints = certificate.getFingerprints;
const fingerprints = new WeakMap<object, unknown[]>();
certificate.getFingerprints = function (this: object) {
  let kept = fingerprints.get(this);
  if (!kept) {
    kept = getFingerprints.call(this);
    fingerprints.set(this, kept);
  }
  return kept;
};

/**
 * One SFU worker thread: owns the werift peer connections of the participants assigned to it and
 * forwards Opus RTP between them (and to/from the other workers over MessagePorts) without decoding.
 */
const { options, relayPorts } = workerData as { options: SfuWorkerOptions; relayPorts: Record<number, MessagePort> };
const port = parentPort as NonNullable<typeof parentPort>;
/** Loopback mode: werift binds and announces 127.0.0.1 only. */
const loopback = options.listenIp === '127.0.0.1';
const core = new WorkerCore<Peer>(options, port, relayPorts);

interface Peer extends CorePeer {
  pc: PeerConnection;
  slotTransceivers: RTCRtpTransceiver[];
  levelExtId: number | null;
}

function rtcConfig() {
  return {
    codecs: { audio: [useOPUS()], video: [] },
    headerExtensions: { audio: [useSdesMid(), useAudioLevelIndication()], video: [] },
    iceServers: options.iceServers,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: options.announcedIp ? [options.announcedIp] : ['127.0.0.1'],
    ...(loopback ? { iceInterfaceAddresses: { udp4: '127.0.0.1' } } : {}),
    ...(options.portRange ? { icePortRange: options.portRange } : {}),
  };
}

async function negotiate(msg: OfferMessage, giveBack: () => void, onConnected: () => void): Promise<string> {
  const pc = new RTCPeerConnection(rtcConfig());
  pc.connectionStateChange.subscribe((state) => {
    if (state === 'connected') onConnected();
    if (state === 'connected' || state === 'failed' || state === 'closed') giveBack();
  });
  const peer: Peer = {
    participantId: msg.participantId,
    talkId: msg.talkId,
    pc,
    slotTransceivers: [],
    publish: msg.publish,
    levelExtId: null,
    level: 0,
    taps: new Map(),
    closed: false,
  };
  core.addPeer(peer);
  const ext = /a=extmap:(\d+)(?:\/\w+)? urn:ietf:params:rtp-hdrext:ssrc-audio-level/.exec(msg.sdp);
  peer.levelExtId = ext ? Number(ext[1]) : null;
  // Only the client's microphone m-line sends to us, so any remote track is the mic.
  pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((rtp) => core.onPublisherPacket(peer, levelOf(peer, rtp), () => strip(rtp))));
  await pc.setRemoteDescription({ type: 'offer', sdp: usableOffer(msg.sdp, loopback) });
  const transceivers = pc.getTransceivers();
  for (const t of transceivers) noDefaultStun(t.dtlsTransport.iceTransport.connection);
  // Answer as the DTLS server (a=setup:passive): the client starts the handshake as soon as it has
  // our answer. As the client, werift waits 100 ms after ICE and its first ClientHello can arrive
  // before the browser has the answer, costing a 500 ms retransmit (measured: 100-600 ms saved).
  for (const t of transceivers) t.dtlsTransport.role = 'server';
  for (const dtls of new Set(transceivers.map((t) => t.dtlsTransport))) holdEarlyDtls(dtls);
  // The client's first audio m-line is its microphone; the rest are receive slots.
  transceivers.forEach((t, i) => {
    if (i === 0) {
      t.setDirection('recvonly');
    } else {
      t.setDirection('sendonly');
      peer.slotTransceivers.push(t);
    }
  });
  pc.connectionStateChange.subscribe((state) => core.send({ type: 'peerState', participantId: peer.participantId, state }));
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      pc.iceGatheringStateChange.subscribe((s) => {
        if (s === 'complete') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }
  return clientAnswer(pc.localDescription?.sdp ?? '');
}

/**
 * The answer as the client gets it, in one pass over its lines:
 * - only candidates a client can reach: loopback in loopback mode, the announced IP when set;
 * - no `a=ssrc` lines (only the send slots have them). A client then creates a slot's receive
 *   stream when the slot's first packet arrives (routed by the MID header extension every forwarded
 *   packet carries), so a slot nobody speaks in costs it nothing: with them, libwebrtc created all
 *   four streams at once and its playout pulled and decoded silence from each 100 times a second
 *   (measured with 50 listener bots, one speaker: their audio thread 44-47% of a core, 22% without).
 */
function clientAnswer(sdp: string): string {
  const reachable = loopback ? '127.0.0.1' : options.announcedIp;
  return sdp
    .split('\r\n')
    .filter((line) => {
      if (line.startsWith('a=candidate:')) return !reachable || line.split(' ')[4] === reachable;
      return !line.startsWith('a=ssrc:') && !line.startsWith('a=ssrc-group:');
    })
    .join('\r\n');
}

/** A STUN server among the configured ICE servers (TURN_URLS may list `stun:` URLs too). */
const stunConfigured = options.iceServers.some((s) => /^stuns?:/i.test(s.urls));

/**
 * werift's ICE agent asks stun.l.google.com:19302 for a server-reflexive candidate whenever no STUN
 * server is configured, and its gathering (so our answer) waits up to 5 s for that request. Here,
 * with no route out, every answer in a burst of joins took 5 s (traced: createAnswer and
 * setLocalDescription 5,003-5,043 ms); anywhere, it told a third party about every join. The SFU's
 * reachable address is RTC_ANNOUNCED_IP (or its interfaces): without a configured STUN server the
 * agent's default is removed before it gathers.
 */
function noDefaultStun(connection: unknown) {
  if (!stunConfigured) (connection as { stunServer?: unknown }).stunServer = undefined;
}

/** At most this many DTLS records are held for a DTLS server that has not started yet. */
const EARLY_DTLS_MAX = 8;

/**
 * Holds the DTLS records that arrive before werift starts its DTLS server and replays them once it
 * has. werift starts it only when its own ICE checks are done (its check loop runs every 20 ms),
 * while the client, as the controlling agent, has ICE and sends its ClientHello a few ms after it
 * has our answer: werift dropped that first ClientHello and the handshake waited for the client's
 * retransmit (measured: 50 ms for libwebrtc on loopback, more on a real network).
 */
function holdEarlyDtls(dtls: RTCRtpTransceiver['dtlsTransport']) {
  const connection = dtls.iceTransport.connection;
  const early: Buffer[] = [];
  const held = connection.onData.subscribe((buf: Buffer) => {
    // DTLS records start with a content type of 20..63 (RFC 7983).
    if (dtls.state === 'new' && buf[0] >= 20 && buf[0] <= 63 && early.length < EARLY_DTLS_MAX) early.push(buf);
  });
  const started = dtls.onStateChange.subscribe((state) => {
    if (state === 'new') return;
    held.unSubscribe();
    started.unSubscribe();
    // 'connecting' is set just before the DTLS server is created and subscribed, in the same
    // synchronous run: the replay waits for that run to finish.
    if (state === 'connecting' && early.length) {
      queueMicrotask(() => {
        for (const buf of early.splice(0)) connection.onData.execute(buf);
      });
    }
  });
}

function levelOf(peer: Peer, rtp: RtpPacket): number {
  if (peer.levelExtId !== null) {
    const e = rtp.header.extensions.find((x) => x.id === peer.levelExtId);
    if (e && e.payload.length > 0) {
      const dbov = e.payload[0] & 0x7f;
      return Math.max(0, 1 - dbov / 70);
    }
  }
  // Without RFC 6464: Opus frames of silence are a few bytes; speech is tens of bytes.
  return Math.min(1, Math.max(0, (rtp.payload.length - 10) / 90));
}

/**
 * The packet as forwarded: a plain 12-byte header (the publisher's header extensions and CSRCs
 * dropped) and the payload, written once per received packet.
 */
function strip(rtp: RtpPacket): Buffer {
  const h = rtp.header;
  const out = Buffer.allocUnsafe(12 + rtp.payload.length);
  out[0] = 0x80;
  out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out.writeUInt16BE(h.sequenceNumber & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  rtp.payload.copy(out, 12);
  return out;
}

/** The last packet forwarded and its precomputed copy (forward.ts): every subscriber of a packet shares one. */
let lastPacket: Buffer | null = null;
let lastForwarded: ReturnType<typeof forwarded> | null = null;

const engine: MediaEngine<Peer> = {
  negotiate,
  async addCandidate(peer, candidate) {
    // werift pairs it, or keeps it until it has the remote description.
    if (usableCandidate(candidate.candidate, loopback)) await peer.pc.addIceCandidate(candidate).catch(() => undefined);
  },
  sendToSlot(sub, slot, _from, packet) {
    const t = sub.slotTransceivers[slot];
    if (!t) return false;
    if (packet !== lastPacket || !lastForwarded) {
      lastPacket = packet;
      lastForwarded = forwarded(packet);
    }
    sendForwarded(t.sender, lastForwarded);
    return true;
  },
  closeMedia(peer) {
    void peer.pc.close().catch(() => undefined);
  },
  connected: (peer) => peer.pc.connectionState === 'connected',
};

core.run(engine);
