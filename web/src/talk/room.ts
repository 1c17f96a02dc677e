/**
 * The room connection: the room socket (src/rooms/client.ts), one RTCPeerConnection (mic + receive
 * slots) or, in the audience tier, the talk's stream (stream.ts), resume on reconnect.
 */
import { RoomConnection, RoomRefusal, SocketClosed } from '../../../src/rooms/client.js';
import {
  type ClientMessage,
  type MediaTier,
  type RemovedPerson,
  type RoomReactionsMessage,
  type RoomView,
  type ServerMessage,
  applyUpdate,
  isFinalClose,
} from '../../../src/rooms/protocol.js';
import type { CaptionLine } from './captions';
import { tabStorage } from './storage';
import { StreamPlayer } from './stream';

/**
 * A listener's peer connection that has not connected this long after its offer gives way to the
 * stream. Here and on a LAN it connects in well under a second; through a TURN relay far away, in
 * two or three; a crowd joining at once waits its negotiation turn (SFU_NEGOTIATIONS) for a few more.
 * Past 8 s of silence people leave, so the stream takes over then (at once if ICE reports failure).
 */
export const WEBRTC_FALLBACK_MS = 8_000;

export type { ParticipantView as Participant, RemovedPerson, RoomView as RoomState } from '../../../src/rooms/protocol.js';

/** This browser's own random id: a host's removal of a guest holds for this browser too. */
function deviceId(): string {
  const key = 'smalltalk:device';
  try {
    let id = localStorage.getItem(key);
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      id = crypto.randomUUID().replace(/-/g, '');
      localStorage.setItem(key, id);
    }
    return id;
  } catch {
    return ''; // storage blocked: the ban still holds by address
  }
}

export interface RoomHandlers {
  onState(s: RoomView): void;
  onLevels(l: Record<string, number>): void;
  onCaption(c: CaptionLine): void;
  /** A message to show (null: the last one no longer applies). */
  onError(message: string | null): void;
  onEnded(): void;
  onLeft(): void;
  /** A host removed us (now, or earlier: the join was refused). */
  onRemoved(message: string): void;
  /** To hosts: who is removed from the talk now. */
  onBans(bans: RemovedPerson[]): void;
  /** How this page hears the room now; `fallback`: on the stream because WebRTC could not connect. */
  onTier(tier: MediaTier, fallback: boolean): void;
}

type JoinForm = { name?: string; username?: string; photo_url?: string; token?: string; invite?: string; device?: string };

export class RoomClient {
  /** Joined, then the connection dropped: the page says it is reconnecting until it is back. */
  private reconnecting = false;
  participantId: string | null = null;
  /** The room socket (across reconnects and redirects), from the first join. */
  private connection: RoomConnection | null = null;
  private pc: RTCPeerConnection | null = null;
  private mic: MediaStreamTrack | null = null;
  /** The sender of the mic m-line: the mic is attached only while the server lets us speak. */
  private micSender: RTCRtpSender | null = null;
  private audioCtx: AudioContext | null = null;
  private analyser: AnalyserNode | null = null;
  /** What the server said in `joined`: receive slots and ICE servers for an offer. */
  private slots = 0;
  private iceServers: RTCIceServer[] = [];
  /** How we hear the room: a peer connection, or the stream (the audience tier). */
  tier: MediaTier = 'webrtc';
  /** On the stream because our peer connection did not connect (not because of the crowd). */
  private fellBack = false;
  private stream: StreamPlayer | null = null;
  /** The stream's audio as the level analyser hears it. */
  private streamSource: MediaStreamAudioSourceNode | null = null;
  private fallbackTimer: ReturnType<typeof setTimeout> | null = null;
  private resumeKey: string;
  private form: JoinForm = {};
  private done = false;
  /** The room as the server last described it: its state, then its updates. */
  private room: RoomView | null = null;
  /** Sockets closed before we joined (the server, or the node it sent us to, did not answer). */
  private failedConnects = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Retries since the last join (the first one comes sooner). */
  private retries = 0;
  /** Messages from the server, handled one after another (join). */
  private inbox: Promise<void> = Promise.resolve();
  /** The id of our latest offer: its answer is the one we take. */
  private offerId = 0;
  /** Who shows the room's reactions as they come (reactions.tsx): never stored, so not in the room's state. */
  private readonly reactionListeners = new Set<(r: RoomReactionsMessage['reactions']) => void>();

  constructor(
    private readonly code: string,
    private readonly handlers: RoomHandlers,
  ) {
    this.resumeKey = `smalltalk:resume:${code}`;
    // For tests and diagnostics: the level of what this page receives, measured with WebAudio.
    (window as unknown as { smalltalk: unknown }).smalltalk = {
      receivedLevel: () => this.receivedLevel(),
      client: this,
      stream: () => {
        const s = this.stream;
        if (!s?.playing) return null;
        const { currentTime, paused, readyState, buffered } = s.audio;
        const bufferedTo = buffered.length ? buffered.end(buffered.length - 1) : 0;
        return { currentTime, paused, readyState, bufferedTo, fatalErrors: s.fatalErrors, errors: s.errors };
      },
      peerState: () => this.pc?.connectionState ?? null,
    };
  }

  /** Joining or in the room (not refused, ended or left). */
  get active() {
    return !this.done;
  }

  /** `micId`: the microphone picked before joining (a device id from enumerateDevices), else the default. */
  async join(form: JoinForm, micId?: string) {
    this.form = { ...form, device: deviceId() };
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: { deviceId: micId || undefined, echoCancellation: true, noiseSuppression: true } });
      this.mic = stream.getAudioTracks()[0] ?? null;
    } catch {
      this.mic = null; // listen only
    }
    if (this.mic) this.mic.enabled = false; // until the server says we may speak
    // Through this page's own server; a node that does not host the talk sends us on to the one that does.
    const connection = new RoomConnection({ pageUrl: new URL(`/t/${this.code}`, location.href), open: (url) => new WebSocket(url), join: this.form });
    this.connection = connection;
    // One message at a time, in order: a `tier` that comes while `joined` is still negotiating waits
    // for it (two negotiations at once would close each other's peer connection mid-offer). A failure
    // is reported as the page's error, as it would have been uncaught.
    connection.onMessage((m) => {
      this.inbox = this.inbox.then(() => this.onMessage(m)).catch((err: unknown) => reportError(err));
    });
    connection.onClose((code) => {
      if (this.done || isFinalClose(code)) return;
      this.connectionFailed();
    });
    this.connect(tabStorage.get(this.resumeKey));
  }

  private connect(resume: string | null) {
    this.connection?.connect(resume).catch((err: unknown) => {
      // Refused: the `error` handler showed it. Otherwise the socket closed before the answer, could
      // not be opened (a ws: node behind an https page: a misconfigured NODE_PUBLIC_URL), or the
      // nodes sent us round in circles (claims changing hands): start again from our own server.
      if (this.done || err instanceof RoomRefusal || (err instanceof SocketClosed && isFinalClose(err.code))) return;
      this.connectionFailed();
    });
  }

  /**
   * The socket closed, or could not open. Dropped, or the room moved to another node: come back as
   * the same participant (within the server's grace period; after the server restarted, the same
   * participant again from the database, or a fresh join with the same name and link). Never
   * joined: the server is down, or a node sent us to one that just died (another node takes its
   * talks over within seconds): keep trying for about a minute.
   */
  private connectionFailed() {
    if (!this.participantId) {
      if (++this.failedConnects > 90) {
        this.handlers.onError('Could not reach the server hosting this talk. Try again in a moment.');
        this.finish(() => undefined);
        return;
      }
      this.handlers.onError('Cannot reach the talk’s server yet: still trying…');
    } else {
      // In the talk: say so at once, and until we are back (a node that died hands the talk over in seconds).
      this.reconnecting = true;
      this.handlers.onError('Connection lost: reconnecting…');
    }
    this.retrySoon();
  }

  /**
   * Connects again through this page's own server: soon after a drop, then about twice a second
   * (jittered, so a crowd does not come back in lockstep), until joined. A server that restarts is
   * back within seconds; a refused connection costs it nothing meanwhile.
   */
  private retrySoon() {
    if (this.retryTimer) return;
    const delay = this.retries++ === 0 ? 250 : 500 + Math.random() * 250;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.done) return;
      this.connect(tabStorage.get(this.resumeKey));
    }, delay);
  }

  /** Calls `listener` with each batch of reactions; returns the unsubscribe. */
  onReactions(listener: (r: RoomReactionsMessage['reactions']) => void): () => void {
    this.reactionListeners.add(listener);
    return () => this.reactionListeners.delete(listener);
  }

  send(message: ClientMessage) {
    this.connection?.send(message);
  }

  private async onMessage(m: ServerMessage) {
    switch (m.type) {
      case 'joined':
        this.participantId = m.participant_id;
        if (this.failedConnects > 0 || this.reconnecting) this.handlers.onError(null);
        this.reconnecting = false;
        this.failedConnects = 0;
        this.retries = 0;
        tabStorage.set(this.resumeKey, m.resume);
        // A join link's secret is spent: out of the address bar and the history (anyone who saw the
        // screen could use a host's). A reload comes back through the resume secret instead.
        if (/(^#|&)(token|invite)=/.test(location.hash)) history.replaceState(history.state, '', location.pathname + location.search);
        this.slots = m.slots;
        this.iceServers = m.ice_servers;
        // Joined again (a reconnect): a peer connection is negotiated anew, a stream goes on playing.
        await this.setTier(m.tier, m.hls_url);
        break;
      case 'tier':
        await this.setTier(m.tier, m.hls_url);
        break;
      case 'answer':
        // Only the answer to our latest offer: one to an offer whose peer connection we replaced since
        // (the room changed while the server answered) has the old connection's m-lines.
        if (!this.pc || m.id !== this.offerId || this.pc.signalingState !== 'have-local-offer') break;
        await this.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
        break;
      case 'state':
      case 'update': {
        if (m.type === 'state') this.room = m;
        else if (this.room) this.room = applyUpdate(this.room, m);
        else break; // before our state: that state will include it
        const s = this.room;
        const self = s.participants.find((p) => p.id === this.participantId);
        const allowed = !!self && self.can_speak && !self.muted && s.talk.live;
        if (this.mic) this.mic.enabled = allowed;
        // Not allowed to speak: send no packets at all (a disabled track still sends silence).
        if (this.micSender && this.micSender.track !== (allowed ? this.mic : null))
          void this.micSender.replaceTrack(allowed ? this.mic : null).catch(() => undefined);
        this.handlers.onState(s);
        break;
      }
      case 'levels':
        this.handlers.onLevels(m.levels);
        break;
      case 'caption': {
        const c = m.caption;
        this.handlers.onCaption({ participantId: c.participantId ?? '', name: c.name, text: c.text, interim: c.interim === true });
        break;
      }
      case 'error':
        if (!this.participantId) tabStorage.remove(this.resumeKey);
        // An offer that crossed our move to the stream: nothing to tell the person.
        if (m.code === 'not_allowed' && this.tier === 'audience' && !this.pc) break;
        if (m.code === 'removed') {
          this.finish(() => this.handlers.onRemoved(m.message));
          break;
        }
        this.handlers.onError(m.message);
        if (m.code === 'ended') this.finish(() => this.handlers.onEnded());
        else if (!this.participantId) this.finish(() => undefined);
        break;
      case 'ended':
        this.finish(() => this.handlers.onEnded());
        break;
      case 'removed':
        this.finish(() => this.handlers.onRemoved(m.message || 'The host removed you from this talk'));
        break;
      case 'bans':
        this.handlers.onBans(m.bans);
        break;
      case 'reactions':
        for (const l of this.reactionListeners) l(m.reactions);
        break;
    }
  }

  /**
   * Hears the room the way the server says: `webrtc` (again, after a reconnect) negotiates a peer
   * connection; `audience` closes it and plays the stream (from the live edge: a second or two behind).
   */
  private async setTier(tier: MediaTier, hlsUrl: string | null) {
    this.tier = tier;
    if (tier === 'audience') {
      this.closePeer();
      // Not live yet (the lobby): the server tells us the stream's URL when the talk starts.
      if (hlsUrl) await this.listen(hlsUrl);
    } else {
      this.fellBack = false;
      this.stopStream();
      await this.negotiate();
    }
    this.handlers.onTier(tier, this.fellBack);
  }

  private async listen(url: string) {
    if (!this.stream) {
      const stream = new StreamPlayer();
      this.stream = stream;
      // Each start of playback (again after a restart) feeds the level analyser, as the WebRTC slots do.
      stream.audio.addEventListener('playing', () => {
        const captured = stream.capture();
        if (!captured?.getAudioTracks().length || this.stream !== stream) return;
        const { ctx, analyser } = this.levelMeter();
        this.streamSource?.disconnect();
        this.streamSource = ctx.createMediaStreamSource(captured);
        this.streamSource.connect(analyser);
      });
    }
    await this.stream.play(url);
  }

  private stopStream() {
    this.stream?.stop();
    this.streamSource?.disconnect();
    this.streamSource = null;
  }

  private closePeer() {
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
    this.pc?.close();
    this.pc = null;
    this.micSender = null;
  }

  /** What measures the level of what this page receives (created on first use). */
  private levelMeter(): { ctx: AudioContext; analyser: AnalyserNode } {
    this.audioCtx ??= new AudioContext();
    this.analyser ??= Object.assign(this.audioCtx.createAnalyser(), { fftSize: 2048 });
    return { ctx: this.audioCtx, analyser: this.analyser };
  }

  /**
   * Our peer connection did not connect in WEBRTC_FALLBACK_MS (or failed): a listener asks the server
   * for the stream instead (it answers with `tier`). Someone on stage stays: the stream cannot carry
   * their voice, and the page says the connection is lost as before.
   */
  private fallBack(pc: RTCPeerConnection) {
    if (this.pc !== pc || pc.connectionState === 'connected' || this.done) return;
    const self = this.room?.participants.find((p) => p.id === this.participantId);
    if (self?.can_speak) return;
    this.fellBack = true;
    this.send({ type: 'listen_by_stream' });
  }

  private async negotiate() {
    this.closePeer();
    const { slots, iceServers } = this;
    // max-bundle: one transport (and one set of candidates) for the mic and every slot.
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    this.fallbackTimer = setTimeout(() => this.fallBack(pc), WEBRTC_FALLBACK_MS);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected' && this.fallbackTimer && this.pc === pc) {
        clearTimeout(this.fallbackTimer);
        this.fallbackTimer = null;
      }
      if (pc.connectionState === 'failed') this.fallBack(pc);
    });
    this.micSender = (this.mic ? pc.addTransceiver(this.mic, { direction: 'sendonly' }) : pc.addTransceiver('audio', { direction: 'sendonly' })).sender;
    if (this.mic && !this.mic.enabled) void this.micSender.replaceTrack(null);
    const meter = this.levelMeter();
    for (let i = 0; i < slots; i++) {
      const t = pc.addTransceiver('audio', { direction: 'recvonly' });
      const stream = new MediaStream([t.receiver.track]);
      const el = new Audio();
      el.srcObject = stream;
      el.autoplay = true;
      void el.play().catch(() => undefined);
      meter.ctx.createMediaStreamSource(stream).connect(meter.analyser);
    }
    // Trickle ICE: the offer goes at once, each candidate after it as the browser finds it (gathering
    // can take seconds behind STUN or TURN; the SFU answers meanwhile and learns the page's address
    // from its first connectivity check).
    pc.onicecandidate = (e) => {
      if (e.candidate) this.connection?.candidate(e.candidate);
    };
    await pc.setLocalDescription(await pc.createOffer());
    const sdp = pc.localDescription?.sdp;
    if (sdp && this.pc === pc) this.send({ type: 'offer', sdp, id: ++this.offerId });
  }

  receivedLevel(): number {
    if (!this.analyser) return 0;
    const buf = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(buf);
    let sq = 0;
    for (const v of buf) sq += v * v;
    return Math.sqrt(sq / buf.length);
  }

  /** The connection's WebRTC statistics (null before media is negotiated): the network indicator reads them. */
  stats(): Promise<RTCStatsReport> | null {
    return this.pc?.getStats() ?? null;
  }

  micEnabled() {
    return !!this.mic?.enabled;
  }

  private finish(then: () => void) {
    this.done = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    tabStorage.remove(this.resumeKey);
    this.closePeer();
    this.stopStream();
    this.mic?.stop();
    this.connection?.close();
    then();
  }

  leave() {
    this.send({ type: 'leave' });
    this.finish(() => this.handlers.onLeft());
  }
}
