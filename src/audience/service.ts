import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Talk } from '../platform/db/schema.js';
import { OPUS_PAYLOAD_TYPE } from '../platform/media.js';
import type { LiveTalkObserver, LiveTalks, SpeakerInfo } from '../rooms/live.js';
import { AacEncoder, PART_SECONDS } from './encoder.js';
import { StageMixer } from './mixer.js';
import { LiveStream, type StreamOptions } from './stream.js';

/** A stream nobody has asked for in this long stops (the next request starts it again). */
const IDLE_MS = 60_000;
/** An ended stream is kept this long, so players still get its last parts and the end of the playlist. */
const ENDED_KEPT_MS = 30_000;

/**
 * Segments of 8 parts (about 2 s) and a window of about a minute behind the live edge: a listener
 * whose player stalled (a phone in a tunnel, an overloaded edge) for up to a minute goes on where it
 * was instead of finding its next part gone. Delta updates keep the playlist it reloads at the last
 * ~18 s. The window holds each segment twice (its parts, and whole): about 1 MB per live talk at 64 kbit/s.
 */
export const STREAM_OPTIONS: StreamOptions = { partsPerSegment: 8, partTarget: PART_SECONDS, windowSegments: 30 };

interface Running {
  stream: LiveStream;
  mixer: StageMixer;
  encoder: AacEncoder;
  taps: Map<string, () => Promise<void>>;
  lastRequest: number;
}

interface HostedTalk {
  talkId: string;
  /** When the talk went live (ms): its streams number their segments from here. */
  startedAt: number;
  /** The last segment an earlier run of its stream on this node made (-1: none). */
  lastMsn: number;
  speakers: Map<string, SpeakerInfo>;
  running: Running | null;
  /** Starting and stopping taps of this talk, one after another in the order they were asked for. */
  ops: Promise<unknown>;
}

/** What a stream request may read: the talk it is for and its key (`talks.stream_key`). */
export type StreamTalk = Pick<Talk, 'id' | 'status' | 'stream_key'>;

/**
 * The audience tier's origin on the node hosting a talk: the talk's stage mixed live (every
 * speaker's tap, see mixer.ts), encoded to AAC parts (encoder.ts) and served as LL-HLS
 * (stream.ts). A stream starts at its first request and stops after IDLE_MS without one, so a
 * talk nobody streams costs nothing.
 */
export class AudienceStreams implements LiveTalkObserver {
  private readonly hosted = new Map<string, HostedTalk>();
  private readonly ended = new Map<string, { stream: LiveStream; timer: NodeJS.Timeout }>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    private readonly live: LiveTalks,
    private readonly log: Logger,
    readonly options: StreamOptions = STREAM_OPTIONS,
  ) {}

  start(): void {
    this.sweeper ??= setInterval(() => this.sweep(), 10_000).unref();
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    await Promise.all([...this.hosted.values()].map((t) => this.halt(t, true)));
    this.hosted.clear();
    for (const { timer } of this.ended.values()) clearTimeout(timer);
    this.ended.clear();
  }

  talkStarted(talk: Talk, sessionStartedAt: Date): void {
    if (this.hosted.has(talk.id)) return;
    // started_at survives the room moving to another node; the session's start is this node's.
    const startedAt = (talk.started_at ?? sessionStartedAt).getTime();
    this.hosted.set(talk.id, { talkId: talk.id, startedAt, lastMsn: -1, speakers: new Map(), running: null, ops: Promise.resolve() });
  }

  speakerStarted(talkId: string, speaker: SpeakerInfo): void {
    const t = this.hosted.get(talkId);
    if (!t) return;
    t.speakers.set(speaker.participantId, speaker);
    const running = t.running;
    if (running) this.enqueue(t, () => this.tap(t, running, speaker.participantId));
  }

  speakerStopped(talkId: string, participantId: string): void {
    const t = this.hosted.get(talkId);
    if (!t) return;
    t.speakers.delete(participantId);
    const running = t.running;
    if (running) this.enqueue(t, () => this.untap(running, participantId));
  }

  /**
   * Only a talk that ended ends its stream (ENDLIST). One that goes on elsewhere (its room moved,
   * this node is stopping) stops its run here as a dead encoder does: held requests are told to ask
   * again, and the next request finds the node that hosts the talk now. An ENDLIST there would stop
   * every player for good, though the talk is still live.
   */
  async talkStopped(talkId: string, goesOn: boolean): Promise<void> {
    const t = this.hosted.get(talkId);
    if (!t) return;
    this.hosted.delete(talkId);
    await this.halt(t, !goesOn);
  }

  /**
   * The stream of a talk hosted here, started if it is not running; null when the key is wrong or
   * the talk is not live here. An ended stream is still served for a while after the talk.
   */
  streamOf(talk: StreamTalk, key: string): LiveStream | null {
    if (!sameKey(talk.stream_key, key)) return null;
    const ended = this.ended.get(talk.id);
    const t = this.hosted.get(talk.id);
    if (!t) return ended?.stream ?? null;
    if (!t.running) this.run(t);
    const running = t.running as Running | null;
    if (!running) return null;
    running.lastRequest = Date.now();
    return running.stream;
  }

  private run(t: HostedTalk): void {
    // Segment numbers and media time go on past every segment an earlier run made: past the last one
    // of this node's earlier run, and by the time since the talk went live (+ 2 segments) past one on
    // a node that hosted the talk before (its clock is assumed close to ours). Each segment is 8 parts
    // of exactly 0.256 s, so segment m starts at media time m * S, in every run.
    const segmentSeconds = this.options.partsPerSegment * this.options.partTarget;
    const firstMsn = Math.max(Math.floor((Date.now() - t.startedAt) / 1000 / segmentSeconds) + 2, t.lastMsn + 1);
    const stream = new LiveStream(this.options, new Date(), firstMsn);
    let encoder: AacEncoder;
    const mixer = new StageMixer((pcm) => encoder.write(pcm));
    encoder = new AacEncoder(
      (init) => stream.setInit(init),
      (part) => stream.addPart(part.data, part.duration),
      firstMsn * segmentSeconds,
    );
    const running: Running = { stream, mixer, encoder, taps: new Map(), lastRequest: Date.now() };
    t.running = running;
    void encoder.exited.then(() => {
      if (t.running !== running) return;
      this.log.warn({ talkId: t.talkId }, 'the audience stream encoder exited; the next request starts it again');
      void this.halt(t, false);
    });
    mixer.start();
    this.log.info({ talkId: t.talkId, speakers: t.speakers.size }, 'audience stream started');
    for (const participantId of t.speakers.keys()) this.enqueue(t, () => this.tap(t, running, participantId));
  }

  private async tap(t: HostedTalk, running: Running, participantId: string): Promise<void> {
    if (t.running !== running || running.taps.has(participantId) || !t.speakers.has(participantId)) return;
    const live = this.live;
    const port = await running.mixer.addSpeaker(participantId);
    try {
      running.taps.set(participantId, await live.tapSpeaker(t.talkId, participantId, { host: '127.0.0.1', port, payloadType: OPUS_PAYLOAD_TYPE }));
    } catch (err) {
      running.mixer.removeSpeaker(participantId);
      this.log.info({ err, talkId: t.talkId, participantId }, 'a speaker left before the audience stream could tap them');
    }
  }

  private async untap(running: Running, participantId: string): Promise<void> {
    const stopTap = running.taps.get(participantId);
    running.taps.delete(participantId);
    running.mixer.removeSpeaker(participantId);
    await stopTap?.().catch(() => undefined);
  }

  /**
   * Stops a running stream. `ended`: the talk is over, so players are told (ENDLIST) and its last parts
   * kept a while; otherwise (the encoder died, nobody listened) held requests are told to ask again,
   * which starts the next run.
   */
  private async halt(t: HostedTalk, ended: boolean): Promise<void> {
    const running = t.running;
    if (!running) return;
    t.running = null;
    t.lastMsn = Math.max(t.lastMsn, running.stream.edge?.msn ?? -1);
    // Held requests ask again at once; no request finds this run any more. Only an ending stream
    // waits for the encoder's last parts, for its playlist to end with them.
    if (!ended) running.stream.abandon();
    await t.ops;
    running.mixer.close();
    await Promise.all([...running.taps.values()].map((stop) => stop().catch(() => undefined)));
    await running.encoder.close();
    if (ended) {
      running.stream.end();
      const before = this.ended.get(t.talkId);
      if (before) clearTimeout(before.timer);
      const timer = setTimeout(() => this.ended.delete(t.talkId), ENDED_KEPT_MS);
      timer.unref();
      this.ended.set(t.talkId, { stream: running.stream, timer });
    }
    this.log.info({ talkId: t.talkId, ended }, 'audience stream stopped');
  }

  private enqueue(t: HostedTalk, op: () => Promise<void>): void {
    t.ops = t.ops.then(op).catch((err) => this.log.error({ err, talkId: t.talkId }, 'audience stream tap failed'));
  }

  private sweep(): void {
    const now = Date.now();
    for (const t of this.hosted.values()) if (t.running && now - t.running.lastRequest > IDLE_MS) void this.halt(t, false);
  }
}

function sameKey(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
