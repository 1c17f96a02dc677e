import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { RoomConnection, RoomRefusal } from '../rooms/client.js';
import {
  type ClientMessage,
  type MediaTier,
  type Reaction,
  type RoomJoinedMessage,
  type RoomReactionsMessage,
  type RoomView,
  type ServerMessage,
  applyUpdate,
  isFinalClose,
} from '../rooms/protocol.js';

/** The parts of @roamhq/wrtc (a native libwebrtc binding) the bot uses. */
interface WrtcTrack {
  stop(): void;
}
interface WrtcTransceiver {
  receiver: { track: WrtcTrack };
  sender: { replaceTrack(track: WrtcTrack): Promise<void> };
}
interface WrtcPeer {
  addTransceiver(trackOrKind: WrtcTrack | 'audio', init: { direction: string }): WrtcTransceiver;
  createOffer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  localDescription: { sdp: string } | null;
  connectionState: string;
  onconnectionstatechange: (() => void) | null;
  onicecandidate: ((e: { candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null }) => void) | null;
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  close(): void;
}
interface AudioSource {
  createTrack(): WrtcTrack;
  onData(d: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
}
interface AudioSink {
  ondata: ((d: { samples: Int16Array }) => void) | null;
  stop(): void;
}
interface Wrtc {
  RTCPeerConnection: new (config: { iceServers: unknown[]; bundlePolicy?: string }) => WrtcPeer;
  nonstandard: { RTCAudioSource: new () => AudioSource; RTCAudioSink: new (track: WrtcTrack) => AudioSink };
}

let wrtcModule: Wrtc | null = null;
function wrtc(): Wrtc {
  if (!wrtcModule) {
    wrtcModule = createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc;
    // Measured: once an RTCAudioSink has existed, a natural exit segfaults in wrtc's native
    // teardown (and an unstopped source track keeps the process alive forever). Exiting again from
    // the 'exit' event ends the process there, before that teardown, with the code it was ending
    // with. (From 'beforeExit' it cut in ahead of the test runner's own end: the summary was not
    // printed and an in-process test file exited 1 with every test passed.)
    process.once('exit', (code) => process.exit(code));
  }
  return wrtcModule;
}

/**
 * Loads libwebrtc and starts its threads (one peer connection made and closed), so that a measured
 * join does not include the load generator's own start-up: the first join of a fresh process took
 * 1-2 s more than the rest, which alone set a 100-listener run's p99.
 */
export function warmUp() {
  const { RTCPeerConnection } = wrtc();
  const pc = new RTCPeerConnection({ iceServers: [] });
  pc.close();
}

/** 48 kHz mono s16 samples of an audio file (ffmpeg resamples whatever it is). */
export function decodeAudio(file: string): Promise<Int16Array> {
  return new Promise((resolve, reject) => {
    const ff = spawn('ffmpeg', ['-v', 'error', '-i', file, '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    ff.stderr.on('data', (c: Buffer) => {
      err += c;
    });
    ff.on('error', reject);
    ff.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg could not read ${file}: ${err.trim()}`));
      const buf = Buffer.concat(chunks);
      resolve(new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 2)));
    });
  });
}

export interface ParticipantOptions {
  /** The talk page URL (short URL) or the server URL plus short code. */
  pageUrl: string;
  name?: string;
  token?: string;
  invite?: string;
  /** Audio to publish (48 kHz mono s16), looped while connected. */
  audio?: Int16Array;
  /** Decode and measure received audio (false: count packets from stats only). */
  decode?: boolean;
  /** RMS (0..1) above which a received frame counts as audio. */
  threshold?: number;
}

export interface ParticipantReport {
  participantId: string | null;
  role: string | null;
  canSpeak: boolean;
  /** ms from starting to connect to the first received frame above the threshold. */
  joinMs: number | null;
  /** Mean RMS (0..1) of the received frames. */
  receivedRms: number;
  loudFrames: number;
  frames: number;
  packetsReceived: number;
  packetsLost: number;
  concealedSamples: number;
  totalSamples: number;
  /** This participant decodes and measures what it hears (a light one only counts packets). */
  decoding: boolean;
  /** Interarrival jitter (RFC 3550) of the received audio, ms, and the jitter buffer's mean delay. */
  jitterMs: number;
  jitterBufferMs: number;
  /** [ms since the epoch, concealed samples, total samples], sampled by `sampleConcealment`. */
  concealmentTimeline: [number, number, number][];
  error: string | null;
  /** When this participant started to join (ms since the epoch), to place its join in a run. */
  startedAtMs: number | null;
  /** Wall-clock ms when the mic first started feeding `audio` (from its start: sample k went in at this + k / 48 ms). */
  micStartedAtMs: number | null;
  /** ms from starting to each step of joining (socket open, joined, offered, answered, connected, first packet). */
  phases: Record<string, number>;
  /** How many times a node sent the socket on to the node hosting the talk (scaled mode). */
  redirects: number;
  /** Times the socket dropped (a node died or restarted, the network went) and the bot came back. */
  reconnects: number;
  /** For each reconnect: ms from the drop to media connected again. */
  reconnectGapsMs: number[];
  /** For each reconnect: when media connected again (ms since the epoch), to set against a server's return. */
  reconnectedAtMs: number[];
  /** The failed tries of the latest reconnect: ms after the drop, and why (where a reconnect's time went). */
  reconnectTries: string[];
  /** How the bot hears the room now: a WebRTC peer, or the audience tier (no peer; a decoding bot plays the stream). */
  tier: MediaTier | null;
  /** Times the server moved the bot between tiers while it was in the room (brought up or down, a changed limit). */
  tierMoves: number;
  /** Times the server said its peer was lost and the bot negotiated a new one (see toTier). */
  mediaRestarts: number;
}

/** A participant's report before it has done anything (the bot's, and the light listeners' in dc-listeners.ts). */
export function emptyReport(): ParticipantReport {
  return {
    participantId: null,
    role: null,
    canSpeak: false,
    joinMs: null,
    receivedRms: 0,
    loudFrames: 0,
    frames: 0,
    packetsReceived: 0,
    packetsLost: 0,
    concealedSamples: 0,
    totalSamples: 0,
    decoding: false,
    jitterMs: 0,
    jitterBufferMs: 0,
    concealmentTimeline: [],
    error: null,
    startedAtMs: null,
    micStartedAtMs: null,
    phases: {},
    redirects: 0,
    reconnects: 0,
    reconnectGapsMs: [],
    reconnectedAtMs: [],
    reconnectTries: [],
    tier: null,
    tierMoves: 0,
    mediaRestarts: 0,
  };
}

/** How long a dropped bot keeps trying to come back. */
const RECONNECT_GIVE_UP_MS = 120_000;

/** A join link's secrets, in its fragment (`#token=…` or `#invite=…`), never sent to the page's server. */
export function linkSecrets(pageUrl: string): URLSearchParams {
  return new URLSearchParams(new URL(pageUrl).hash.replace(/^#/, ''));
}

/** The room's refusal as the bot reports it: `code: message`. */
export function refusalAsError(err: unknown): never {
  if (err instanceof RoomRefusal) throw new Error(`${err.code}: ${err.message}`);
  throw err;
}

/** A real participant from the command line: signalling over the room socket (src/rooms/client.ts), media with libwebrtc. */
export class BotParticipant {
  /** The room socket, across reconnects and redirects (made on the first join). */
  private connection: RoomConnection | null = null;
  /** The latest raw socket (a test's network drop terminates it). */
  private ws: WebSocket | null = null;
  private pc: WrtcPeer | null = null;
  private sinks: AudioSink[] = [];
  /** The ffmpeg playing the talk's stream while a decoding bot is in the audience tier, and the stream's URL. */
  private streamPlayer: ChildProcess | null = null;
  private streamUrl: string | null = null;
  private micTrack: WrtcTrack | null = null;
  private micSender: WrtcTransceiver['sender'] | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The mic's audio source once media is negotiated, and where the played file is at. */
  private source: AudioSource | null = null;
  private audioPos = 0;
  private startedAt = 0;
  private sumSquares = 0;
  private rmsSum = 0;
  readonly report: ParticipantReport = emptyReport();

  /** The room as the server last described it (its state, then its updates). */
  state: RoomView | null = null;
  /** Every reaction the room broadcast since joining (others' and our own), in order. */
  readonly reactions: RoomReactionsMessage['reactions'] = [];
  /** The server lets this participant speak now; otherwise no audio is fed (no packets sent). */
  private publishing = false;
  private readonly waiters: ((m: ServerMessage) => boolean)[] = [];
  private readonly loudWaiters: { frames: number; resolve(): void }[] = [];
  private leaving = false;
  /** Media was negotiated once: a dropped socket from then on is reconnected. */
  private inTalk = false;
  /** What the latest `joined` said media is negotiated with. */
  private slots = 0;
  private iceServers: unknown[] = [];
  /** Media changes (a join's, a tier's), one at a time in the order the server sent them. */
  private media: Promise<void> = Promise.resolve();
  /** The media step of the latest `joined` (connect() waits for it and reports its failure). */
  private joinedMedia: Promise<void> | null = null;
  /** When the latest connect reached each step (performance.now()), for a reconnect's account of its time. */
  private steps: Record<string, number> = {};
  /** A reconnect loop is running (a socket closing under one of its tries is that loop's to handle). */
  private reconnecting = false;

  constructor(private readonly options: ParticipantOptions) {
    this.report.decoding = options.decode !== false;
  }

  private mark(phase: string) {
    this.report.phases[phase] ??= Math.round(performance.now() - this.startedAt);
    this.steps[phase] = performance.now();
  }

  /** Connects, joins and offers; resolves once the server answered (media flows shortly after). */
  async join(): Promise<void> {
    this.startedAt = performance.now();
    this.report.startedAtMs = Date.now();
    await this.connect();
  }

  /**
   * Joins through the page's server (sent on to the node hosting the talk), as the same participant
   * when there is a resume secret (the connection keeps it), and negotiates media.
   */
  private async connect(): Promise<void> {
    this.connection ??= this.roomConnection();
    this.joinedMedia = null;
    const joined: RoomJoinedMessage = await this.connection.connect().catch(refusalAsError);
    if (this.connection.redirects > 0) this.report.redirects = this.connection.redirects;
    this.mark('joined');
    this.report.participantId = joined.participant_id;
    // onMessage queued the media step when `joined` came (before any `tier` sent after it).
    await (this.joinedMedia ?? this.inMedia(() => this.mediaFor(joined)));
  }

  /** Runs a media step after those queued before it; resolves or rejects with it (the queue goes on either way). */
  private inMedia(step: () => Promise<void>): Promise<void> {
    const run = this.media.then(step);
    this.media = run.catch(() => undefined);
    return run;
  }

  /** After `joined` (a first join or a reconnect): media anew, as the server says this participant hears the room. */
  private async mediaFor(joined: RoomJoinedMessage) {
    this.slots = joined.slots;
    this.iceServers = joined.ice_servers;
    // A reconnect negotiates anew: the old connection's media is gone with its node or socket.
    this.closeMedia();
    this.report.tier = null;
    await this.toTier(joined.tier, false, joined.hls_url);
  }

  /**
   * Hears the room the server's way. The audience tier (a `hosted_events` talk past its WebRTC
   * listeners, or brought down there): the server takes no offer, so the bot drops its peer and stays
   * in the room (counted, sees the state); a decoding bot plays the stream (`hlsUrl`) with ffmpeg and
   * measures it like WebRTC audio (a light one holds no media). WebRTC (on joining, or brought up): a peer
   * connection is negotiated. A `tier` message that says WebRTC to a bot already there means its peer
   * was lost at the server (its media process started again): a new one is negotiated, as the page does.
   */
  private async toTier(tier: MediaTier, told = false, hlsUrl: string | null = null) {
    if (this.leaving) return;
    if (this.report.tier !== null && this.report.tier !== tier) this.report.tierMoves++;
    const again = told && this.report.tier === tier && this.pc !== null;
    this.report.tier = tier;
    if (tier === 'audience') {
      this.closeMedia();
      this.mark('audience');
      this.inTalk = true;
      if (hlsUrl && this.options.decode !== false) this.playStream(new URL(hlsUrl, this.options.pageUrl).toString());
      return;
    }
    this.stopStream(); // brought up from the stream: WebRTC from now on
    if (again) {
      this.report.mediaRestarts++;
      this.closeMedia();
    }
    if (!this.pc) await this.negotiate();
  }

  private async negotiate() {
    const connection = this.connection;
    if (!connection) return;
    const { RTCPeerConnection, nonstandard } = wrtc();
    // max-bundle: one transport for all five m-lines. By default libwebrtc gathers for each m-line
    // (40 candidates and 20 UDP sockets here instead of 8 and 4) and checks every pair with the SFU.
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const source = new nonstandard.RTCAudioSource();
    this.micTrack = source.createTrack();
    this.micSender = pc.addTransceiver(this.micTrack, { direction: 'sendonly' }).sender;
    for (let i = 0; i < this.slots; i++) {
      const t = pc.addTransceiver('audio', { direction: 'recvonly' });
      if (this.options.decode !== false) {
        const sink = new nonstandard.RTCAudioSink(t.receiver.track);
        sink.ondata = (d) => this.onFrame(d.samples);
        this.sinks.push(sink);
      }
    }
    // Trickle ICE: the offer goes at once and each candidate follows as libwebrtc finds it (its TCP
    // candidates come about 100 ms after the UDP ones; waiting for all of them delayed every join).
    pc.onicecandidate = (e) => {
      const c = e.candidate;
      if (c) connection.candidate(c);
    };
    await pc.setLocalDescription(await pc.createOffer());
    this.mark('offered');
    pc.onconnectionstatechange = () => {
      if (pc.connectionState !== 'connected') return;
      this.mark('connected');
      // No packet can come before DTLS is done: the first-packet poll starts here.
      if (this.options.decode === false) void this.watchFirstPacket(pc);
    };
    const answer = await connection.offer(pc.localDescription?.sdp ?? '').catch(refusalAsError);
    this.mark('answered');
    // Closed meanwhile (moved to the audience tier, a drop): nothing to answer.
    if (this.pc !== pc) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    this.source = source;
    this.inTalk = true;
    this.updateMic();
  }

  /**
   * A light listener decodes nothing, so its join time is connect to the first RTP packet, polled
   * from stats once connected until it arrives (then no more polling): every 5 ms for the first
   * 500 ms, where first packets come (the speaker sends every 20 ms), then every 50 ms. A 50 ms poll
   * throughout added 25 ms to every join on average.
   */
  private async watchFirstPacket(pc: WrtcPeer) {
    const started = performance.now();
    const deadline = started + 30_000;
    while (this.pc === pc && this.report.phases.firstPacket === undefined && performance.now() < deadline) {
      const stats = await pc.getStats().catch(() => null);
      for (const s of stats?.values() ?? []) {
        if (s.type === 'inbound-rtp' && Number(s.packetsReceived ?? 0) > 0) {
          this.mark('firstPacket');
          this.report.joinMs ??= this.report.phases.firstPacket;
          return;
        }
      }
      await new Promise((r) => setTimeout(r, performance.now() - started < 500 ? 5 : 50));
    }
  }

  /**
   * Feeds the mic while the server lets this participant speak, and runs no timer otherwise: a load
   * test's hundred listeners each ticking every 10 ms for nothing took a share of the load generator's
   * core (10,000 wake-ups a second).
   */
  private updateMic() {
    const source = this.source;
    if (!this.publishing || !source) {
      this.stopAudio();
      return;
    }
    if (this.timer) return;
    const audio = this.options.audio;
    const frame = 480;
    const silence = new Int16Array(frame);
    const start = performance.now();
    if (this.report.micStartedAtMs === null && this.audioPos === 0) this.report.micStartedAtMs = Date.now();
    let sent = 0;
    // RTCAudioSource wants 10 ms frames; the timer catches up on late ticks.
    this.timer = setInterval(() => {
      const due = Math.floor((performance.now() - start) / 10);
      for (; sent < due; sent++) {
        let samples = silence;
        if (audio && audio.length >= frame) {
          if (this.audioPos + frame > audio.length) this.audioPos = 0;
          samples = audio.slice(this.audioPos, this.audioPos + frame);
          this.audioPos += frame;
        }
        source.onData({ samples, sampleRate: 48000, bitsPerSample: 16, channelCount: 1, numberOfFrames: frame });
      }
    }, 10);
  }

  /** A received frame (10 ms); `fromStream`: the stream's audio, whose first loud frame is no join time. */
  private onFrame(samples: Int16Array, fromStream = false) {
    let sq = 0;
    for (let i = 0; i < samples.length; i++) sq += samples[i] * samples[i];
    const rms = Math.sqrt(sq / samples.length) / 32768;
    this.report.frames++;
    if (this.report.frames === 1) this.mark(fromStream ? 'firstStreamFrame' : 'firstFrame');
    this.rmsSum += rms;
    this.sumSquares += sq;
    if (rms >= (this.options.threshold ?? 0.01)) {
      this.report.loudFrames++;
      if (this.report.joinMs === null && !fromStream) this.report.joinMs = Math.round(performance.now() - this.startedAt);
      for (let i = 0; i < this.loudWaiters.length; i++) {
        if (this.report.loudFrames >= this.loudWaiters[i].frames) this.loudWaiters.splice(i--, 1)[0].resolve();
      }
    }
  }

  /** The room socket through the page's server, this bot's messages and closes handled as they come. */
  private roomConnection(): RoomConnection {
    const hash = linkSecrets(this.options.pageUrl);
    const connection = new RoomConnection({
      pageUrl: this.options.pageUrl,
      open: (url) => {
        const ws = new WebSocket(url);
        this.ws = ws;
        ws.once('open', () => {
          if (this.ws === ws) this.mark('open');
        });
        return ws;
      },
      join: {
        name: this.options.name ?? 'bot',
        token: this.options.token ?? hash.get('token') ?? undefined,
        invite: this.options.invite ?? hash.get('invite') ?? undefined,
      },
    });
    connection.onMessage((m) => this.onMessage(m));
    connection.onClose((code) => this.socketClosed(code));
    return connection;
  }

  private onMessage(m: ServerMessage) {
    // Now, not when join() resumes: the room's state (or a `tier`) may be in the same read as `joined`.
    if (m.type === 'joined') {
      this.report.participantId = m.participant_id;
      this.joinedMedia = this.inMedia(() => this.mediaFor(m));
      this.joinedMedia.catch(() => undefined); // connect() reports it
    }
    if (m.type === 'tier')
      this.inMedia(() => this.toTier(m.tier, true, m.hls_url)).catch((err: Error) => {
        // Refused because the room moved us again meanwhile: the `tier` that says so is queued next.
        if (!this.leaving && !err.message.startsWith('not_allowed')) this.report.error = `could not move to the ${m.tier} tier: ${err.message}`;
      });
    const room = m.type === 'state' ? m : m.type === 'update' && this.state ? applyUpdate(this.state, m) : null;
    if (room) {
      this.state = room;
      const me = room.participants.find((p) => p.id === this.report.participantId);
      // Not listed: off the stage in a view of the stage only (a hosted event's listener), so a
      // listener, not speaking (hosts and speakers are always on the stage).
      this.report.role = me?.role ?? 'listener';
      this.report.canSpeak = me?.can_speak ?? false;
      this.publishing = !!me && me.can_speak && !me.muted && room.talk.live;
      this.updateMic();
    }
    if (m.type === 'reactions') this.reactions.push(...m.reactions);
    for (let i = 0; i < this.waiters.length; i++) {
      if (this.waiters[i](m)) this.waiters.splice(i--, 1);
    }
  }

  /** The next message matching `match` (on whichever socket: across reconnects). */
  next(match: (m: ServerMessage) => boolean, timeoutMs = 15_000): Promise<ServerMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the server')), timeoutMs);
      this.waiters.push((m) => {
        if (!match(m)) return false;
        clearTimeout(timer);
        resolve(m);
        return true;
      });
    });
  }

  /** Resolves once `frames` loud frames have been received (false on timeout): an event, not a guess. */
  untilLoudFrames(frames: number, timeoutMs = 20_000): Promise<boolean> {
    if (this.report.loudFrames >= frames) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.loudWaiters.push({
        frames,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      });
    });
  }

  send(m: ClientMessage) {
    this.connection?.send(m);
  }

  /** Sends a reaction (the room takes a few at once, then one every half second). */
  react(emoji: Reaction) {
    this.send({ type: 'react', emoji });
  }

  /** Asks a question in a `questions` room; resolves once the queue shows it (rejects with the room's refusal). */
  async ask(text: string): Promise<string> {
    this.send({ type: 'ask', text });
    const mine = () => this.state?.questions.find((q) => q.participant_id === this.report.participantId && q.text === text.trim().replace(/\s+/g, ' '));
    const answer = await this.next((m) => m.type === 'error' || ((m.type === 'update' || m.type === 'state') && !!mine()));
    if (answer.type === 'error') throw new Error(`${answer.code}: ${answer.message}`);
    return (mine() as { id: string }).id;
  }

  /** As a host: takes a question (its asker comes on stage) or marks it answered. */
  pickQuestion(id: string) {
    this.send({ type: 'pick_question', question: id });
  }

  finishQuestion(id: string) {
    this.send({ type: 'finish_question', question: id });
  }

  /** Packet counts and concealment from libwebrtc's stats (the light listeners use only these). */
  async collectStats() {
    if (!this.pc) return;
    let received = 0;
    let lost = 0;
    let concealed = 0;
    let total = 0;
    let jitter = 0;
    let bufferDelay = 0;
    let emitted = 0;
    const stats = await this.pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        received += Number(s.packetsReceived ?? 0);
        lost += Math.max(0, Number(s.packetsLost ?? 0));
        concealed += Number(s.concealedSamples ?? 0);
        total += Number(s.totalSamplesReceived ?? 0);
        jitter = Math.max(jitter, Number(s.jitter ?? 0) * 1000);
        bufferDelay += Number(s.jitterBufferDelay ?? 0);
        emitted += Number(s.jitterBufferEmittedCount ?? 0);
      }
    }
    Object.assign(this.report, {
      packetsReceived: received,
      packetsLost: lost,
      concealedSamples: concealed,
      totalSamples: total,
      jitterMs: Math.round(jitter * 10) / 10,
      jitterBufferMs: emitted ? Math.round((bufferDelay / emitted) * 1000) : 0,
    });
  }

  /** Adds the concealment so far to the report's timeline, to place concealment in a run. */
  async sampleConcealment() {
    await this.collectStats();
    this.report.concealmentTimeline.push([Date.now(), this.report.concealedSamples, this.report.totalSamples]);
  }

  private stopAudio() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The peer connection's state (null: none, as in the audience tier). */
  peerState(): string | null {
    return this.pc?.connectionState ?? null;
  }

  /** The process id of the ffmpeg playing the talk's stream now (a decoding bot in the audience tier), or null. */
  streamPlayerPid(): number | null {
    return this.streamPlayer?.pid ?? null;
  }

  /** A network drop, for tests: the socket and the media go without a leave; the bot then comes back. */
  dropConnection() {
    this.ws?.terminate();
    this.closeMedia();
  }

  /** Another microphone, as a person picking one: the mic track is replaced on the same connection. */
  async switchMicrophone() {
    if (!this.micSender) throw new Error('no media yet');
    const source = new (wrtc().nonstandard.RTCAudioSource)();
    const track = source.createTrack();
    await this.micSender.replaceTrack(track);
    this.micTrack?.stop();
    this.micTrack = track;
    this.stopAudio();
    this.source = source;
    this.updateMic();
  }

  /**
   * Plays the talk's LL-HLS stream as a player would, through ffmpeg (its HLS demuxer reloads the
   * playlist and reads whole segments: a few seconds behind hls.js), and measures each 10 ms of it as
   * a received WebRTC frame (the sink's size). Its first loud frame is the `firstStreamFrame` phase,
   * not a join time. An ffmpeg that fails (a stream not ready yet, with no whole segment) is started
   * again a second later while the bot is on this stream; one that ends normally (the talk ended) or
   * cannot start (no ffmpeg) is not.
   */
  private playStream(url: string) {
    if (this.leaving) return;
    this.streamUrl = url;
    const player = spawn('ffmpeg', ['-v', 'error', '-i', url, '-vn', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.streamPlayer = player;
    const frame = 480 * 2;
    let pending: Buffer = Buffer.alloc(0);
    player.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      for (; at + frame <= pending.length; at += frame) {
        this.onFrame(new Int16Array(pending.buffer.slice(pending.byteOffset + at, pending.byteOffset + at + frame)), true);
      }
      pending = pending.subarray(at);
    });
    let spawned = true;
    player.on('error', () => {
      spawned = false; // no ffmpeg: the bot hears nothing, as its report says
    });
    player.on('close', (code) => {
      if (this.streamPlayer !== player) return;
      this.streamPlayer = null;
      if (!spawned || code === 0) return;
      setTimeout(() => {
        if (this.streamPlayer === null && this.streamUrl === url && !this.leaving) this.playStream(url);
      }, 1000).unref();
    });
  }

  private stopStream() {
    const player = this.streamPlayer;
    this.streamPlayer = null;
    this.streamUrl = null;
    player?.kill('SIGKILL');
  }

  private closeMedia() {
    this.stopStream();
    this.source = null;
    this.stopAudio();
    for (const s of this.sinks) s.stop();
    this.sinks = [];
    this.micTrack?.stop();
    this.micTrack = null;
    this.micSender = null;
    this.pc?.close();
    this.pc = null;
  }

  /**
   * The joined room socket closed. Unless we left, the talk ended, a host removed us or another socket
   * took our place (isFinalClose), the bot comes back as the page does: through the page's server, as
   * the same participant, retrying every second, and reports how long it was gone (the load tests read it).
   */
  private socketClosed(code: number) {
    this.stopAudio();
    if (isFinalClose(code)) this.stopStream(); // the talk ended, or we were removed: no stream to play
    if (this.leaving || isFinalClose(code)) return;
    if (!this.inTalk || this.reconnecting) return;
    this.reconnecting = true;
    void this.reconnect().finally(() => {
      this.reconnecting = false;
    });
  }

  private async reconnect() {
    const droppedAt = performance.now();
    let lastError = '';
    this.report.reconnectTries = [];
    // Soon, then twice a second (a refused connection costs the server nothing), for two minutes.
    for (let attempt = 0; performance.now() - droppedAt < RECONNECT_GIVE_UP_MS && !this.leaving; attempt++) {
      await new Promise((r) => setTimeout(r, attempt === 0 ? 250 : 500));
      if (this.leaving) return;
      try {
        this.steps = {};
        await this.connect();
        const pc = this.pc;
        const deadline = performance.now() + 10_000;
        const open = () => this.connection?.socket?.open === true;
        while (pc && pc.connectionState !== 'connected' && open() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        // No peer at all: back in the audience tier (connect() made none).
        if (pc && pc.connectionState !== 'connected') throw new Error(open() ? 'media did not connect again' : 'the socket closed before media connected');
        this.report.reconnects++;
        this.report.reconnectGapsMs.push(Math.round(performance.now() - droppedAt));
        const at = (step: string) => (this.steps[step] ? `${step} +${Math.round(this.steps[step] - droppedAt)}` : `no ${step}`);
        this.report.reconnectTries.push(
          `back: ${['open', 'joined', 'offered', 'answered'].map(at).join(', ')}, connected +${Math.round(performance.now() - droppedAt)} ms`,
        );
        this.report.reconnectedAtMs.push(Date.now());
        return;
      } catch (err) {
        lastError = (err as Error).message;
        const tries = this.report.reconnectTries;
        if (tries.length < 50) tries.push(`+${Math.round(performance.now() - droppedAt)} ms ${lastError}`);
        // Given up at once (the connection hears no more of it; its socket keeps an 'error' listener:
        // terminate() on a socket still connecting emits one, and unheard it ended a chaos run).
        const ws = this.ws;
        this.connection?.close();
        ws?.terminate();
      }
    }
    if (!this.leaving) this.report.error = `lost the connection and could not come back: ${lastError}`;
  }

  async leave() {
    this.leaving = true;
    await this.collectStats().catch(() => undefined);
    this.report.receivedRms = this.report.frames ? Math.round((this.rmsSum / this.report.frames) * 10000) / 10000 : 0;
    this.send({ type: 'leave' });
    this.connection?.close();
    this.closeMedia();
  }
}
