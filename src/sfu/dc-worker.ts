import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PeerConnection, type RtcConfig, type Track } from 'node-datachannel';
import { describeGathered } from './dc-gathering.js';
import { isRtcp, levelOf, type OfferedMedia, offeredMedia, SlotWriter, strip } from './dc-rtp.js';
import { startWorker } from './link.js';
import { fromLibdatachannel, usableOffer } from './offer.js';
import { type CorePeer, type MediaEngine, type OfferMessage, WorkerCore } from './worker-core.js';

/**
 * The SFU worker of the datachannel engine (SFU_ENGINE=datachannel), a child process of the server:
 * the same protocol as `worker.ts` (werift), with the peer connections in libdatachannel (C++,
 * through node-datachannel). ICE, DTLS and SRTP run in libdatachannel's own threads; the process's
 * main thread gets each received packet decrypted, rewrites each subscriber's copy (`dc-rtp.ts`) and
 * hands it back to be encrypted and sent. A process, not a worker thread: node-datachannel keeps its
 * classes' constructors in C++ statics, so it can live in one thread of a process only, once (a
 * second thread, even after the first ended, crashed the process).
 */
const { options, relayPorts, port } = await startWorker();
const loopback = options.listenIp === '127.0.0.1';
const core = new WorkerCore<Peer>(options, port, relayPorts);

interface Slot {
  /**
   * The slot's track. Held here for as long as the peer lives: libdatachannel's Track object that
   * nothing in JavaScript references is garbage-collected, and its packets stop.
   */
  track: Track;
  writer: SlotWriter;
}

interface Peer extends CorePeer {
  pc: PeerConnection;
  /** The client's microphone track (the offer's first m-line), held for the same reason as the slots'. */
  mic: Track | null;
  slots: Slot[];
  media: OfferedMedia[];
  levelExtId: number | null;
  /** What the connection's state callback reaches the peer through (emptied when it closes). */
  held: { peer: Peer | null } | null;
  /**
   * Whether the connection is connected, as its state callback last said. Forwarding reads this
   * rather than asking each track (`isOpen()`, a call into C++ per packet per subscriber: 4% of the
   * media process's samples in a profile). libdatachannel reports `connected` just before it opens
   * the tracks, so a first packet may find its track not open yet: the send throws and is dropped.
   */
  up: boolean;
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

/** The answer as the client gets it: only reachable candidates, and no `a=ssrc` lines (see README, slots; a libdatachannel client gets its slots' in `withSlotSsrcs`). */
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

async function negotiate(msg: OfferMessage, giveBack: () => void, onConnected: () => void): Promise<string> {
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
    up: false,
  };
  core.addPeer(peer);
  // The state callback stays registered until the connection's wrapper is collected, so it must not
  // hold the peer (and through it the connection and its tracks): it reaches it through `held`, which
  // closePeer empties. Otherwise every closed peer stayed in memory for good.
  const held: { peer: Peer | null } = { peer };
  peer.held = held;
  pc.onStateChange((state) => {
    const p = held.peer;
    if (!p || p.closed) return;
    p.up = state === 'connected';
    if (state === 'connected') onConnected();
    if (state === 'connected' || state === 'failed' || state === 'closed') giveBack();
    core.send({ type: 'peerState', participantId: p.participantId, state });
  });
  // libdatachannel makes a track per offered m-line as it applies the offer (reported on this thread
  // a moment later): the first is the client's microphone, the others its receive slots.
  // node-datachannel's objects throw once closed, and a throw in one of its callbacks ends the media
  // process (every peer on it): the callbacks catch.
  // Each receive slot's writer (its SSRC, numbering and MID), made before the tracks are: the answer can name the SSRCs.
  const writers = media.slice(1).map((m) => new SlotWriter(m.opus ?? 111, m.mid, m.midExtId));
  pc.onTrack((track) => {
    if (peer.closed) return;
    try {
      const index = media.findIndex((m) => m.mid === track.mid());
      if (index === 0) {
        peer.mic = track;
        track.onMessage((packet) => {
          try {
            if (isRtcp(packet)) return;
            core.onPublisherPacket(peer, levelOf(packet, peer.levelExtId), () => strip(packet));
          } catch {
            // the peer is closing
          }
        });
      } else if (index > 0) {
        peer.slots[index - 1] = { track, writer: writers[index - 1] };
      }
    } catch {
      // closed meanwhile
    }
  });
  const local = await describeGathered(pc, () => pc.setRemoteDescription(offer, 'offer'));
  if (peer.closed) throw new Error('the participant left before its media was negotiated');
  if (!local) throw new Error('the media server made no answer');
  const answer = clientAnswer(announced(local));
  return fromLibdatachannel(msg.sdp) ? withSlotSsrcs(answer, media, writers) : answer;
}

/**
 * The answer with each receive slot's SSRC (`a=ssrc`, after its `a=mid`), for a libdatachannel client
 * (see fromLibdatachannel); only the audio sections whose MID is a slot's.
 */
function withSlotSsrcs(answer: string, media: OfferedMedia[], writers: SlotWriter[]): string {
  const byMid = new Map(media.slice(1).map((m, i) => [m.mid, writers[i]]));
  const [head, ...mLines] = answer.split(/\r\n(?=m=)/);
  const named = mLines.map((section) => {
    const writer = section.startsWith('m=audio ') ? byMid.get(/^a=mid:(\S+)/m.exec(section)?.[1] ?? '') : undefined;
    return writer ? section.replace(/^(a=mid:.*)$/m, `$1\r\na=ssrc:${writer.ssrc} cname:smalltalk`) : section;
  });
  return [head, ...named].join('\r\n');
}

/** Garbage collections `stop` runs (each followed by a turn of the loop, where finalizers run). */
const STOP_GC_ROUNDS = 5;
v8.setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const engine: MediaEngine<Peer> = {
  negotiate,
  addCandidate(peer, candidate) {
    // Only usable ones come (the pool drops the rest before they cross to this process).
    try {
      peer.pc.addRemoteCandidate(candidate.candidate.replace(/^a=/, ''), candidate.sdpMid ?? peer.media[0]?.mid ?? '0');
    } catch {
      // A candidate libdatachannel cannot parse or pair: the client is found from its checks anyway.
    }
  },
  sendToSlot(sub, slot, from, packet, now) {
    const s = sub.slots[slot];
    if (!s || !sub.up) return false;
    try {
      s.track.sendMessageBinary(s.writer.write(packet, from, now));
      return true;
    } catch {
      return false; // the track closed (the peer is going)
    }
  },
  closeMedia(peer) {
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
    peer.up = false;
    peer.mic = null;
    peer.slots = [];
  },
  connected(peer) {
    return peer.up;
  },
  /**
   * A worker's teardown finalizes node-datachannel's objects in an order that aborts the process (a
   * Track's finalizer releases a thread-safe function already freed: SIGABRT in
   * napi_release_threadsafe_function, or SIGBUS). So, once the core has closed every peer, their
   * closes are let run and the garbage collector run until their objects are finalized while the
   * worker still lives. node-datachannel's cleanup() is not called: it closes every Track it ever
   * made, including collected ones (SIGBUS in rtc::Track::close).
   */
  async stop() {
    // The core queues each close for the next turn of the loop (setImmediate): this one runs after them.
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < STOP_GC_ROUNDS; i++) {
      collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  },
};

core.run(engine);
