import type { RTCPeerConnection as PeerConnection, RTCRtpTransceiver, RtpPacket } from 'werift';
import { forwarded, sendForwarded } from './forward.js';
import { startWorker } from './link.js';
import { usableOffer } from './offer.js';
import { holdEarlyDtls, noDefaultStun, werift } from './werift-patches.js';
import { type CorePeer, type MediaEngine, type OfferMessage, WorkerCore } from './worker-core.js';

const { RTCPeerConnection, useAudioLevelIndication, useOPUS, useSdesMid } = werift;

/**
 * One SFU worker thread: owns the werift peer connections of the participants assigned to it and
 * forwards Opus RTP between them (and to/from the other workers over MessagePorts) without decoding.
 */
const { options, relayPorts, port } = await startWorker();
/** Loopback mode: werift binds and announces 127.0.0.1 only. */
const loopback = options.listenIp === '127.0.0.1';
/** A STUN server among the configured ICE servers (TURN_URLS may list `stun:` URLs too). */
const stunConfigured = options.iceServers.some((s) => /^stuns?:/i.test(s.urls));
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
  if (!stunConfigured) for (const t of transceivers) noDefaultStun(t.dtlsTransport.iceTransport.connection);
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
    // werift pairs it, or keeps it until it has the remote description. Only usable ones come (the pool drops the rest).
    await peer.pc.addIceCandidate(candidate).catch(() => undefined);
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
