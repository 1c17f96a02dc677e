import type { TapStart } from './tap.js';

/** Messages between the HTTP process (rooms) and the SFU workers (threads, or the datachannel engine's process). */

export interface SfuWorkerOptions {
  index: number;
  /** Addresses werift listens on / announces. */
  listenIp: string;
  announcedIp: string | null;
  portRange: [number, number] | null;
  iceServers: { urls: string; username?: string; credential?: string }[];
  /** Joins negotiated at once (SFU_NEGOTIATIONS). */
  negotiations: number;
}

export type ToWorker =
  | { type: 'offer'; reqId: number; talkId: string; participantId: string; sdp: string; publish: boolean }
  | { type: 'publish'; participantId: string; publish: boolean }
  | { type: 'candidate'; participantId: string; candidate: IceCandidate }
  | { type: 'slots'; talkId: string; slots: (string | null)[]; workers: number[] }
  | { type: 'close'; participantId: string }
  | { type: 'closeTalk'; talkId: string }
  | { type: 'tap'; reqId: number; participantId: string; port: number; payloadType: number; start: TapStart }
  | { type: 'untap'; reqId: number; tapId: number }
  | { type: 'stats'; reqId: number }
  /** Sent before the worker is terminated: it closes its peers (libdatachannel aborted its thread's process otherwise). */
  | { type: 'stop'; reqId: number };

/** A client's trickled ICE candidate (the browser's RTCIceCandidateInit). */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export type FromWorker =
  | { type: 'reply'; reqId: number; ok: true; value: unknown }
  | { type: 'reply'; reqId: number; ok: false; error: string }
  | { type: 'levels'; levels: [participantId: string, level: number][] }
  | { type: 'peerState'; participantId: string; state: string };

/** One publisher's packet relayed to another worker that has listeners of the same talk. */
export interface RelayedPacket {
  talkId: string;
  slot: number;
  from: string;
  packet: Uint8Array;
}

export interface WorkerStats {
  peers: number;
  /** Peers whose connection (ICE and DTLS) is up. */
  connected: number;
  forwardedPackets: number;
  receivedPackets: number;
  /** CPU so far of the worker's process: the whole server's for a worker thread, its own for the datachannel media process. */
  cpuMicros: number;
  /** The worker's process id: the server's for a worker thread, the media process's for datachannel. */
  pid: number;
  /** Offers waiting for their negotiation turn. */
  waitingOffers: number;
  /** Trickled candidates the worker was given (the pool sends only those it can use). */
  candidates: number;
  /**
   * The latest joins' timings at this worker, oldest first (at most the last 1,000): when the offer
   * arrived (`arrivedAt`, ms since the epoch), then in ms from that: when its negotiation turn began,
   * when the answer was ready, and when the peer connected (ICE and DTLS; null if it has not, or never did).
   */
  joins: { arrivedAt: number; turnMs: number; answerMs: number; connectedMs: number | null }[];
}
