import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { BotParticipant, decodeAudio } from '../../src/bot/participant.js';
import { probeDuration } from '../../src/platform/media.js';
import { waitFor } from '../support/wait.js';
import { speechWav } from '../live/media.js';
import { maxVolume } from '../recording/media.js';

/**
 * The live talk of the chaos scenario: a host bot (src/bot/participant.ts, real WebRTC) speaking all
 * along, so that every SIGKILL of the server cuts a recording in progress. It knows when the bot's
 * voice reached the server this time (joined or came back, then unmuted), so that an interrupted
 * recording can be compared with how long the bot spoke before the kill.
 */
export type Call = (method: string, route: string, json?: unknown) => Promise<{ status: number; body: Record<string, any> }>;

export interface RecordingRow {
  id: string;
  status: string;
  failure_reason: string | null;
  start_time: string;
  duration: number | null;
  url: string | null;
  tracks: { name: string; file_name: string; url: string; offset: number }[];
}

/** What was checked of one recording interrupted by a SIGKILL. */
export interface InterruptedRecording {
  id: string;
  /**
   * `ready`, or `failed` when the kill came before the capture had written any audio (bytesAtKill 0,
   * or a header):
   * then there is nothing to save, and the recording says so in `failureReason` (no recording_saved).
   */
  status: string;
  failureReason: string | null;
  /** Seconds the bot had been speaking into this recording when the server was killed. */
  spokeS: number;
  /** Seconds from the recording's start to the kill. */
  untilKillS: number;
  /** Duration of the mixed file (ffprobe), and of each speaker track. */
  mixS: number;
  trackS: number[];
  /** Where the last track ends on the recording's timeline (its offset plus its duration): the kill to within 2 s. */
  trackEndS: number;
  /**
   * Seconds from the bot's voice reaching the server (unmuted, media connected) to its track's start
   * (the server starts a speaker's capture, then taps the speaker once ffmpeg listens): the part of
   * `spokeS` the track cannot hold, unrelated to the kill.
   */
  startLagS: number;
  /** ms from the server's return (ready) to the recording finalized (status ready). */
  savedAfterReadyMs: number;
  /**
   * Bytes of speaker track files on the server's disk just before the kill: 0 means the capture had
   * not written anything yet (its ffmpeg not started on a loaded machine), not that the kill lost it.
   */
  bytesAtKill: number;
  /** Problems found (empty when the recording is playable and covers the talk to within 2 s of the kill). */
  problems: string[];
}

const run = promisify(execFile);

/** The reason the recorder gives a recording a crash cut before any audio reached the disk. */
export function nothingSaved(reason: string | null): boolean {
  return reason !== null && /nothing to save/.test(reason);
}

/**
 * A recording of the talk as it must end: `ready` and announced by exactly one distinct
 * `recording_saved`, or (cut by a kill before any audio was on disk) `failed` with that reason and
 * never announced.
 */
export function settledOnce(r: { status: string; events: number; failureReason: string | null }): boolean {
  if (r.status === 'ready') return r.events === 1;
  return r.status === 'failed' && nothingSaved(r.failureReason) && r.events === 0;
}

/** Decodes the whole file: ffmpeg must read it to the end without an error. */
async function decodes(file: string): Promise<string | null> {
  try {
    const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
    return stderr.trim() ? stderr.trim().split('\n')[0] : null;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}

export class LiveTalk {
  bot: BotParticipant | null = null;
  talkId = '';
  private joinUrl = '';
  private audio: Int16Array | null = null;
  /** When the bot's voice last (re)started reaching the server (ms since the epoch). */
  speakingSince = 0;
  private seenReconnects = 0;
  private watch: NodeJS.Timeout | null = null;
  /** Bots that gave up reconnecting (the server took longer to come back than they wait) and were replaced. */
  replaced = 0;

  constructor(
    private readonly call: Call,
    private readonly dir: string,
    private readonly log: (line: string) => void = () => {},
  ) {}

  async create() {
    this.audio = await decodeAudio(speechWav());
    const talk = await this.call('POST', '/api/p/talk', { name: 'Chaos talk' });
    if (talk.status !== 200) throw new Error(`talk not created: ${JSON.stringify(talk.body)}`);
    this.talkId = talk.body.talk.id;
    const token = await this.call('POST', `/api/v1/partners/talks/${this.talkId}/join_tokens`, { name: 'Hana Host', role: 'host', uid: 'chaos-host' });
    if (token.status !== 200) throw new Error(`join token not created: ${JSON.stringify(token.body)}`);
    this.joinUrl = token.body.join_token.join_url;
    // A reconnect (the server back after a kill) is noticed within 50 ms and the bot unmuted again.
    this.watch = setInterval(() => {
      const bot = this.bot;
      if (!bot || bot.report.reconnects === this.seenReconnects) return;
      this.seenReconnects = bot.report.reconnects;
      bot.send({ type: 'mute', muted: false });
      this.speakingSince = Date.now();
      const tries = bot.report.reconnectTries;
      this.log(
        `  the bot came back (${bot.report.reconnectGapsMs.at(-1)} ms after its socket dropped) and speaks again; failed tries: ${tries.length - 1}; ${tries.slice(-3).join('; ')}`,
      );
    }, 50);
  }

  private async joinBot() {
    await this.bot?.leave();
    const bot = new BotParticipant({ pageUrl: this.joinUrl, audio: this.audio ?? undefined, decode: false });
    this.bot = bot;
    this.seenReconnects = 0;
    await bot.join();
    bot.send({ type: 'mute', muted: false });
    // Media connects shortly after the join's answer: the voice reaches the server from then.
    await waitFor(() => bot.report.phases.connected !== undefined || bot.report.error !== null, 'the bot’s media connected', 30_000);
    this.speakingSince = Date.now();
    this.log('  the bot joined the talk and speaks');
  }

  async recordings(): Promise<RecordingRow[]> {
    const res = await this.call('GET', `/api/v1/partners/recordings?talk_id=${this.talkId}&limit=100`);
    if (res.status !== 200) throw new Error(`recordings: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.recordings as RecordingRow[];
  }

  /**
   * Resolves once the bot is in the talk (joined again if it gave up while the server was away),
   * speaking, and the recording in progress has its track; returns that recording's id.
   */
  async speakingInto(): Promise<string> {
    let current = '';
    await waitFor(
      async () => {
        const bot = this.bot;
        if (!bot || bot.report.error !== null) {
          if (bot) this.replaced++;
          // The server may still be starting: a failed join is tried again on the next pass.
          await this.joinBot().catch(() => {
            this.bot = null;
          });
          return false;
        }
        const live = (await this.recordings().catch(() => [])).find((r) => r.status === 'recording' && r.tracks.length > 0);
        current = live?.id ?? '';
        return current !== '';
      },
      'the bot speaking into a recording',
      180_000,
    );
    return current;
  }

  /**
   * After a kill at `killedAt` and the server ready again at `readyAt`: waits for the interrupted
   * recording to be finalized, downloads its mix and tracks, and checks each plays to the end and
   * lasts as long as the bot spoke before the kill, to within 2 s.
   */
  async checkInterrupted(id: string, killedAt: number, spokeFrom: number, readyAt: number, bytesAtKill: number): Promise<InterruptedRecording> {
    let rec: RecordingRow | undefined;
    await waitFor(
      async () => {
        rec = (await this.call('GET', `/api/v1/partners/recordings/${id}`).catch(() => null))?.body.recording;
        return rec?.status === 'ready' || rec?.status === 'failed';
      },
      `recording ${id} finalized after the restart`,
      180_000,
    );
    const savedAfterReadyMs = Date.now() - readyAt;
    const r = rec as RecordingRow;
    const spokeS = (killedAt - spokeFrom) / 1000;
    const untilKillS = (killedAt - new Date(r.start_time).getTime()) / 1000;
    const out: InterruptedRecording = {
      id,
      status: r.status,
      failureReason: r.failure_reason,
      spokeS,
      untilKillS,
      mixS: 0,
      trackS: [],
      trackEndS: 0,
      startLagS: 0,
      savedAfterReadyMs,
      bytesAtKill,
      problems: [],
    };
    // At most a file header (ffmpeg writes one at the first packet, the first audio 0.5 s later).
    if (r.status === 'failed' && bytesAtKill <= 2048 && nothingSaved(r.failure_reason)) return out;
    if (r.status !== 'ready' || !r.url) {
      out.problems.push(`recording ${id} ${r.status}`);
      return out;
    }
    const fetchTo = async (url: string, name: string) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`${name}: download answered ${res.status}`);
      const file = path.join(this.dir, `${id}-${name}`);
      await writeFile(file, Buffer.from(await res.arrayBuffer()));
      return file;
    };
    const mix = await fetchTo(r.url, 'mix.mp4');
    out.mixS = (await probeDuration(mix)) ?? 0;
    const mixError = await decodes(mix);
    if (mixError) out.problems.push(`mix does not decode: ${mixError}`);
    if (Math.abs(out.mixS - untilKillS) >= 2) out.problems.push(`mix lasts ${out.mixS.toFixed(1)} s, the kill came ${untilKillS.toFixed(1)} s in`);
    if (r.tracks.length === 0) out.problems.push('no speaker track');
    // Every track must play to its end; the last one (the bot's voice when the kill came; an earlier
    // one would be from before a reconnect) must last as long as the bot spoke, and be speech to the end.
    for (const [i, track] of r.tracks.entries()) {
      const file = await fetchTo(track.url, `track-${i}${path.extname(track.file_name)}`);
      const lasted = (await probeDuration(file)) ?? 0;
      out.trackS.push(lasted);
      const error = await decodes(file);
      if (error) out.problems.push(`track ${track.file_name} does not decode: ${error}`);
      if (lasted <= 0) out.problems.push(`track ${track.file_name} has no duration`);
      if (i < r.tracks.length - 1) continue;
      out.trackEndS = track.offset + lasted;
      out.startLagS = track.offset - (untilKillS - spokeS);
      // Its duration against the time the bot spoke before the kill, less the start lag (which is
      // where the track starts, not what the kill cut): the same as its end against the kill.
      if (Math.abs(lasted + out.startLagS - spokeS) >= 2)
        out.problems.push(
          `track ${track.file_name} lasts ${lasted.toFixed(1)} s from ${track.offset.toFixed(1)} s in (${out.startLagS.toFixed(1)} s after the bot's voice came); the bot spoke ${spokeS.toFixed(1)} s before the kill, ${untilKillS.toFixed(1)} s in`,
        );
      const loud = await maxVolume(file, Math.max(0, lasted - 3), lasted);
      if (!(loud > -30)) out.problems.push(`track ${track.file_name} silent in its last 3 s (${loud} dB)`);
    }
    return out;
  }

  /** Bytes of the recording's speaker tracks on the server's disk now (local storage under its data directory). */
  trackBytes(recordingId: string): number {
    const root = path.join(this.dir, 'recordings');
    if (!existsSync(root)) return 0;
    let bytes = 0;
    for (const partner of readdirSync(root)) {
      const dir = path.join(root, partner, recordingId);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) if (f.endsWith('.m4a')) bytes += statSync(path.join(dir, f)).size;
    }
    return bytes;
  }

  /** Ends the talk (its last recording is finalized) and lets the bot go. */
  async end() {
    if (this.watch) clearInterval(this.watch);
    if (this.talkId) await this.call('POST', `/api/v1/partners/talks/${this.talkId}/end`).catch(() => undefined);
    await this.bot?.leave();
    this.bot = null;
  }
}
