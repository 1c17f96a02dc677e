import type { MediaChild } from '../platform/spawner.js';
import { createHash, randomInt } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../platform/config.js';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { Queue } from '../platform/queue.js';
import type { Recording, RecordingTrack, Talk } from '../platform/db/schema.js';
import { AppError } from '../platform/errors.js';
import type { LiveTalkObserver, LiveTalks, SpeakerInfo } from '../rooms/live.js';
import type { EventSink } from '../webhooks/events.js';
import type { RecordingsService } from './service.js';
import {
  OPUS_PAYLOAD_TYPE,
  RtpHold,
  captureArgs,
  freeRtpPort,
  orderlySignal,
  probeDuration,
  run,
  spawnTied,
  stopRtpReader,
  writeSdp,
} from '../platform/media.js';

/** The job that transcribes a finished recording. */
export const TRANSCRIBE_JOB = 'recording.transcribe';

/** How long a recording's lease lasts without a heartbeat before another node may finalize it. */
export const LEASE_MS = 30_000;

interface Capture {
  speaker: SpeakerInfo;
  track: RecordingTrack;
  port: number;
  /** Holds the tap's packets until ffmpeg listens on `port`. */
  hold: RtpHold;
  child: MediaChild;
  stopTap: (() => Promise<void>) | null;
  /** Set when we stop it: any other exit of its ffmpeg is a failure, and the speaker gets a new track. */
  stopping: boolean;
  startedAt: number;
}

/** A capture whose ffmpeg dies sooner than this after starting counts as a quick failure. */
const QUICK_FAILURE_MS = 3_000;
/** After this many quick failures in a row for one speaker, the recorder stops restarting it. */
const MAX_QUICK_FAILURES = 5;

interface Session {
  talk: Talk;
  recordingId: string;
  startedAt: Date;
  captures: Map<string, Capture>;
  trackCount: number;
  /** The row's track list is written one change at a time (see updateTrack). */
  trackWrites: Promise<void>;
  /** Quick capture failures in a row, per participant. */
  quickFailures: Map<string, number>;
  /** Observer calls for one talk run one after another, in the order they were made. */
  ops: Promise<unknown>;
  sdpDir: string;
}

/** What the recorder reads and writes. */
export interface RecorderDeps {
  config: Config;
  log: Logger;
  db: DatabaseHandle;
  queue: Queue;
  recordings: RecordingsService;
  events: EventSink;
}

/**
 * Records live talks: each speaker's tapped Opus RTP goes to its own ffmpeg, which writes a
 * fragmented MP4 (AAC) growing on disk; when the talk stops (or at start-up, for a session a
 * crash interrupted) the tracks are mixed at their offsets into the talk's mp4. See README.md.
 */
export class Recorder implements LiveTalkObserver {
  private readonly sessions = new Map<string, Session>();
  /** Finalizations in flight (a stopped talk's, recovery's): a stopping server awaits them (stop). */
  private readonly finalizing = new Set<Promise<unknown>>();
  /** Recordings this node is finalizing now (the periodic recovery must not start them twice). */
  private readonly busy = new Set<string>();
  /**
   * Recordings whose talk stopped and whose capture files are still closing (up to ~10 s, before
   * finalize marks them busy): not abandoned, so recover() must leave them alone.
   */
  private readonly stopping = new Set<string>();
  /**
   * Every recording this process started. The periodic recovery never takes one of these: they are
   * finalized by their talk's stop (before, a recovery pass that read the rows while a new session's
   * insert was in flight finalized that recording 17 ms after it started).
   */
  private readonly own = new Set<string>();
  private heartbeat: NodeJS.Timeout | null = null;
  /** Called once a transcription job is committed, so this node's transcriber starts it now. */
  onTranscriptionQueued: () => void = () => {};
  /**
   * This node's name in `recordings.owner_node`. Stable across restarts of the same server (host
   * and data directory), so a restarted node takes back its own unfinished recordings at once.
   */
  readonly node: string;
  /**
   * The queue this node's transcriptions go to. With local storage the files are on this node's
   * disk, so its own queue (only this node works it); with S3 any node can fetch them.
   */
  readonly transcribeQueue: string;

  constructor(
    private readonly services: RecorderDeps,
    private readonly live: LiveTalks | undefined,
    private readonly leaseMs = LEASE_MS,
  ) {
    this.node = `${os.hostname()}:${path.resolve(services.config.DATA_DIR)}`;
    this.transcribeQueue = transcribeQueueFor(services.config.STORAGE, this.node);
  }

  /**
   * Keeps the lease of every recording this node is recording or finalizing, and every lease
   * period finalizes recordings whose owner stopped renewing theirs (a node that died).
   */
  startLease(): void {
    if (this.heartbeat) return;
    let beats = 0;
    this.heartbeat = setInterval(() => {
      void this.renew().catch((err) => this.log.warn({ err }, 'renewing recording leases failed'));
      if (++beats % 3 === 0) void this.recover().catch((err) => this.log.error({ err }, 'recovering abandoned recordings failed'));
    }, this.leaseMs / 3);
    this.heartbeat.unref();
  }

  private async renew(): Promise<void> {
    await this.services.db.db
      .updateTable('recordings')
      .set({ heartbeat_at: new Date() })
      .where('owner_node', '=', this.node)
      .where('status', 'in', ['recording', 'processing'])
      .execute();
  }

  private get log() {
    return this.services.log.child({ component: 'recorder' });
  }

  /** Runs `op` after every earlier call for the same talk; failures are logged, not thrown at the room. */
  private enqueue(session: Session, what: string, op: () => Promise<void>): Promise<void> {
    const next = session.ops.then(op).catch((err) => this.log.error({ err, talkId: session.talk.id }, `recorder ${what} failed`));
    session.ops = next;
    return next;
  }

  talkStarted(talk: Talk, sessionStartedAt: Date): Promise<void> {
    if (!talk.recording || this.sessions.has(talk.id)) return Promise.resolve();
    const session: Session = {
      talk,
      recordingId: '',
      startedAt: sessionStartedAt,
      captures: new Map(),
      trackCount: 0,
      trackWrites: Promise.resolve(),
      quickFailures: new Map(),
      ops: Promise.resolve(),
      sdpDir: '',
    };
    this.sessions.set(talk.id, session);
    return this.enqueue(session, 'start', async () => {
      session.sdpDir = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-rtp-'));
      const id = crypto.randomUUID();
      // Known as this process's before its row exists: see `own`.
      this.own.add(id);
      const fileName = `${randomInt(10_000_000, 100_000_000)}.mp4`;
      const rec = await this.services.recordings.repo.insert(this.services.db.db, talk.partner_id, {
        id,
        talk_id: talk.id,
        status: 'recording',
        owner_node: this.node,
        heartbeat_at: new Date(),
        file_name: fileName,
        storage_key: `${talk.partner_id}/${id}/${fileName}`,
        size: null,
        duration: null,
        start_time: sessionStartedAt,
        end_time: null,
        created_by_id: talk.created_by_id,
        user_id: talk.created_by_id,
      });
      session.recordingId = rec.id;
      this.log.info({ talkId: talk.id, recordingId: rec.id }, 'recording started');
    });
  }

  speakerStarted(talkId: string, speaker: SpeakerInfo): Promise<void> {
    const session = this.sessions.get(talkId);
    if (!session) return Promise.resolve();
    return this.enqueue(session, 'speaker start', () => this.startCapture(session, speaker));
  }

  /** Starts capturing one speaker to a new track (their first, or the next after a gap or a failure). */
  private async startCapture(session: Session, speaker: SpeakerInfo): Promise<void> {
    if (!session.recordingId || session.captures.has(speaker.participantId) || this.sessions.get(session.talk.id) !== session) return;
    const { recordings } = this.services;
    const talkId = session.talk.id;
    const rec = await recordings.repo.get(session.talk.partner_id, session.recordingId);
    if (rec?.status !== 'recording') return;
    session.trackCount++;
    const fileName = `${rec.file_name.replace(/\.mp4$/, '')}-${session.trackCount}.m4a`;
    const track: RecordingTrack = {
      participant_id: speaker.participantId,
      user_id: speaker.userId,
      uid: speaker.uid,
      name: speaker.name,
      username: speaker.username,
      storage_key: `${session.talk.partner_id}/${session.recordingId}/${fileName}`,
      file_name: fileName,
      offset: Math.max(0, (Date.now() - session.startedAt.getTime()) / 1000),
    };
    const file = recordings.storage.localPath(track.storage_key);
    await mkdir(path.dirname(file), { recursive: true });
    const port = await freeRtpPort();
    const sdp = path.join(session.sdpDir, `${session.trackCount}.sdp`);
    await writeSdp(sdp, port);
    // The tap sends to a hold that keeps the packets until ffmpeg listens (on a loaded machine it
    // takes a second or more to start): the track begins when the tap does, and nothing said
    // meanwhile is lost (it was: the chaos runs' tracks started p50 0.6 s, at most 3.1 s, after the
    // speaker's voice).
    const hold = await RtpHold.open();
    const child = spawnTied('ffmpeg', captureArgs(sdp, file));
    child.stderr?.setEncoding('utf8').on('data', (line: string) => this.log.debug({ talkId, line }, 'ffmpeg'));
    const capture: Capture = { speaker, track, port, hold, child, stopTap: null, stopping: false, startedAt: Date.now() };
    session.captures.set(speaker.participantId, capture);
    child.once('error', (err) => this.log.error({ err, talkId }, 'a speaker capture could not start'));
    child.once('exit', (code, signal) => {
      this.captureExited(session, capture, code, signal);
      // Its last packets went out before the exit (stopRtpReader's closing one included).
      hold.close();
    });
    // The track is in the row before any audio arrives, so a crash from here on still finds it.
    await recordings.repo.update(session.talk.partner_id, session.recordingId, { tracks: [...rec.tracks, track] });
    const live = this.live;
    if (!live || capture.stopping || child.exitCode !== null) return;
    const tappedAt = Date.now();
    try {
      capture.stopTap = await live.tapSpeaker(talkId, speaker.participantId, { host: '127.0.0.1', port: hold.port, payloadType: OPUS_PAYLOAD_TYPE });
    } catch (err) {
      // The speaker left (or the room closed: the server is stopping) while their capture started:
      // their leaving stops the capture next, in this same queue.
      if (err instanceof AppError && err.code === 'not_found') {
        this.log.info({ talkId, participantId: speaker.participantId }, 'the speaker left before their capture started');
        return;
      }
      throw err;
    }
    // Time 0 of the file is the tap's first packet: the stream is continuous (silence until the
    // speaker's audio comes), and the hold keeps it all until ffmpeg reads.
    const offset = Math.max(0, (tappedAt - session.startedAt.getTime()) / 1000);
    capture.track.offset = offset;
    await this.updateTrack(session, track.file_name, { offset });
    // Watched aside, not to hold up this talk's queue.
    void this.releaseWhenListening(session, capture);
  }

  /** Lets the held packets through to the capture's ffmpeg once it listens. */
  private async releaseWhenListening(session: Session, capture: Capture): Promise<void> {
    const started = Date.now();
    const listening = await capture.hold.releaseWhenListening(capture.port, () => !capture.stopping && capture.child.exitCode === null);
    if (!listening) return;
    const waitedMs = Date.now() - started;
    if (waitedMs > 2000 || capture.hold.dropped > 0) {
      this.log.info(
        { talkId: session.talk.id, track: capture.track.file_name, waitedMs, dropped: capture.hold.dropped },
        'a capture was slow to start listening; its audio was held meanwhile',
      );
    }
  }

  /**
   * A capture's ffmpeg that exits without being asked to (it crashed, or lost its input) would leave
   * the speaker unrecorded for the rest of the talk: the speaker gets a new track from now on (the
   * file written so far is kept as a track of its own, at its own offset).
   */
  private captureExited(session: Session, capture: Capture, code: number | null, signal: NodeJS.Signals | null): void {
    const id = capture.speaker.participantId;
    if (capture.stopping || session.captures.get(id) !== capture || this.sessions.get(session.talk.id) !== session) return;
    session.captures.delete(id);
    if (orderlySignal(signal)) {
      // systemd (or an operator) stopping the service signals every process of the group: the
      // capture ends with the server, in order; its file so far is kept.
      void capture.stopTap?.().catch(() => undefined);
      this.log.info({ talkId: session.talk.id, participantId: id, signal }, 'a speaker capture was stopped by a signal (the service is stopping)');
      return;
    }
    void capture.stopTap?.().catch(() => undefined);
    const quick = Date.now() - capture.startedAt < QUICK_FAILURE_MS;
    const failures = quick ? (session.quickFailures.get(id) ?? 0) + 1 : 0;
    session.quickFailures.set(id, failures);
    if (failures >= MAX_QUICK_FAILURES) {
      this.log.error({ talkId: session.talk.id, participantId: id, code, signal }, 'a speaker capture keeps failing; no longer recording this speaker');
      return;
    }
    this.log.warn({ talkId: session.talk.id, participantId: id, code, signal }, 'a speaker capture stopped unexpectedly; recording them on a new track');
    const restart = () => void this.enqueue(session, 'speaker restart', () => this.startCapture(session, capture.speaker));
    if (quick) setTimeout(restart, 500 * failures).unref();
    else restart();
  }

  speakerStopped(talkId: string, participantId: string): Promise<void> {
    const session = this.sessions.get(talkId);
    if (!session) return Promise.resolve();
    return this.enqueue(session, 'speaker stop', async () => {
      const capture = session.captures.get(participantId);
      session.quickFailures.delete(participantId);
      if (!capture) return;
      session.captures.delete(participantId);
      await this.stopCapture(session, capture);
    });
  }

  talkStopped(talkId: string): Promise<void> {
    const session = this.sessions.get(talkId);
    if (!session) return Promise.resolve();
    const endedAt = new Date();
    // Closing the capture files and mixing take a moment: the room need not wait for them, but a
    // stopping server does (stop awaits what `track` holds; the session is gone from the map once this runs).
    void this.track(
      this.enqueue(session, 'stop', async () => {
        if (session.recordingId) this.stopping.add(session.recordingId);
        this.sessions.delete(talkId);
        try {
          await Promise.all([...session.captures.values()].map((c) => this.stopCapture(session, c)));
          session.captures.clear();
          if (session.sdpDir) await rm(session.sdpDir, { recursive: true, force: true });
          if (!session.recordingId) return;
          const rec = await this.services.recordings.repo.get(session.talk.partner_id, session.recordingId);
          // Mixing takes a few seconds: the room need not wait for it.
          if (rec) await this.finalize(rec, endedAt);
        } finally {
          this.stopping.delete(session.recordingId);
        }
      }),
    );
    return Promise.resolve();
  }

  private async stopCapture(session: Session, capture: Capture): Promise<void> {
    capture.stopping = true;
    let end: number | null = null;
    // A capture stopped before its ffmpeg listened: whatever the hold has goes now (lost if nothing listens).
    capture.hold.release(capture.port);
    await stopRtpReader(capture.child, () => {
      if (!capture.stopTap) return Promise.resolve();
      if (this.live?.continuousTaps) end = Math.max(0, (Date.now() - session.startedAt.getTime()) / 1000);
      return capture.stopTap().catch((err) => this.log.warn({ err }, 'stopping a speaker tap failed'));
    });
    if (end === null) return;
    const stoppedAt: number = end;
    await this.updateTrack(session, capture.track.file_name, { end: stoppedAt });
  }

  /** Changes one track in the row; one write at a time per session (captures stop in parallel). */
  private updateTrack(session: Session, fileName: string, change: Partial<RecordingTrack>): Promise<void> {
    const { recordings } = this.services;
    const write = session.trackWrites.then(async () => {
      const rec = await recordings.repo.get(session.talk.partner_id, session.recordingId);
      if (rec?.status !== 'recording') return;
      const tracks = rec.tracks.map((t) => (t.file_name === fileName ? { ...t, ...change } : t));
      await recordings.repo.update(session.talk.partner_id, session.recordingId, { tracks });
    });
    session.trackWrites = write.catch((err) => this.log.warn({ err, talkId: session.talk.id }, 'updating a track failed'));
    return session.trackWrites;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.finalizing.add(p);
    return p.finally(() => this.finalizing.delete(p));
  }

  /**
   * Finalizes recordings a crash left unfinished (rows still 'recording' or 'processing'): this
   * node's own from before a restart, and other nodes' whose lease is stale, but only when this node
   * can read their track files (shared storage, or the same disk). A dead node's recording whose
   * tracks are on its own disk is left to it: it finalizes it when it comes back, and if it has not
   * come back after RECORDING_ABANDON_HOURS, the recording is marked failed with the reason.
   * Recordings this process started, and another live node's (heartbeat fresh), are never taken.
   * Each is claimed with one conditional update, so two recovering nodes never both finalize it.
   */
  async recover(): Promise<void> {
    const staleBefore = new Date(Date.now() - this.leaseMs);
    const abandonBefore = new Date(Date.now() - this.services.config.RECORDING_ABANDON_HOURS * 3_600_000);
    for (const candidate of await this.services.recordings.repo.unfinished()) {
      // Checked after the read: a session that started meanwhile is in `own` before its row exists.
      if (this.own.has(candidate.id) || this.busy.has(candidate.id) || this.stopping.has(candidate.id)) continue;
      const foreign = candidate.owner_node !== null && candidate.owner_node !== this.node;
      const stale = candidate.heartbeat_at === null || new Date(candidate.heartbeat_at) < staleBefore;
      if (foreign && !stale) continue;
      if (foreign && !(await this.tracksReadable(candidate))) {
        if (candidate.heartbeat_at !== null && new Date(candidate.heartbeat_at) < abandonBefore) await this.abandon(candidate);
        continue;
      }
      const rec = await this.services.db.db
        .updateTable('recordings')
        .set({ owner_node: this.node, heartbeat_at: new Date() })
        .where('id', '=', candidate.id)
        .where('status', 'in', ['recording', 'processing'])
        .where((eb) =>
          eb.or([eb('owner_node', 'is', null), eb('owner_node', '=', this.node), eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', staleBefore)]),
        )
        .returningAll()
        .executeTakeFirst();
      if (!rec || this.own.has(rec.id)) continue;
      this.log.warn({ recordingId: rec.id, owner: candidate.owner_node }, 'finalizing a recording left unfinished by a restart');
      await this.track(this.finalize(rec, null));
    }
  }

  /** Whether every track file of a recording is on this node's disk (or staging area). */
  private async tracksReadable(rec: Recording): Promise<boolean> {
    for (const t of rec.tracks) {
      const ok = await stat(this.services.recordings.storage.localPath(t.storage_key)).then(
        () => true,
        () => false,
      );
      if (!ok) return false;
    }
    return true;
  }

  /** Marks failed, with the reason, a recording whose node has not come back for its tracks. */
  private async abandon(rec: Recording): Promise<void> {
    const hours = this.services.config.RECORDING_ABANDON_HOURS;
    const reason = `The server that recorded this talk (${rec.owner_node}) stopped before saving it and has not come back for ${hours} h; its track files are on that server's disk. Restart it with the same data directory to recover them.`;
    const done = await this.services.db.db
      .updateTable('recordings')
      .set({ status: 'failed', failure_reason: reason, updated_at: new Date() })
      .where('id', '=', rec.id)
      .where('status', 'in', ['recording', 'processing'])
      .where('owner_node', '=', rec.owner_node)
      .where('heartbeat_at', '<', new Date(Date.now() - hours * 3_600_000))
      .returning('id')
      .executeTakeFirst();
    if (done) this.log.error({ recordingId: rec.id, owner: rec.owner_node }, 'a recording was abandoned by its node: marked failed');
  }

  /**
   * Marks failed, with the reason, a recording a crash cut before any speaker's audio was written
   * (on a loaded machine a capture's ffmpeg can take seconds to start): no `recording_saved`.
   */
  private async failNothingSaved(rec: Recording): Promise<void> {
    const reason =
      rec.tracks.length > 0
        ? 'The server stopped (a crash or a kill) before any speaker’s audio of this recording was written to disk, so there is nothing to save. If the talk went on, the talk’s next recording has it from the restart.'
        : 'The server stopped (a crash or a kill) before anyone spoke in this recording, so there is nothing to save. If the talk went on, the talk’s next recording has it from the restart.';
    const done = await this.services.db.db
      .updateTable('recordings')
      .set({ status: 'failed', failure_reason: reason, tracks: JSON.stringify([]), updated_at: new Date() })
      .where('partner_id', '=', rec.partner_id)
      .where('id', '=', rec.id)
      .where('status', 'in', ['recording', 'processing'])
      .returning('id')
      .executeTakeFirst();
    if (done) this.log.warn({ recordingId: rec.id, tracks: rec.tracks.length }, 'a recording cut by a restart had no audio on disk: marked failed');
  }

  /** Shutdown: stops capturing and finalizes every live session, so a clean stop loses nothing. */
  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    const sessions = [...this.sessions.values()];
    for (const s of sessions) await this.talkStopped(s.talk.id);
    await Promise.all([...sessions.map((s) => s.ops), ...this.finalizing]);
  }

  /**
   * Mixes the speaker tracks at their offsets into the recording's mp4, then (in one transaction)
   * marks it ready, emits recording_saved and enqueues its transcription. Only the transaction
   * that moves the row out of recording/processing emits, so the event fires once. `endedAt` is
   * null for a recording a crash cut (recovery): if none of its tracks has audio on disk, it is
   * marked failed instead (failNothingSaved).
   */
  async finalize(given: Recording, endedAt: Date | null): Promise<void> {
    const { recordings, db, queue, config } = this.services;
    const partnerId = given.partner_id;
    if (this.busy.has(given.id)) return;
    this.busy.add(given.id);
    // Claimed only while still unfinished: a recording that is already ready or failed is never
    // finalized again (nor its recording_saved sent twice), whoever asks and whenever.
    const rec = await db.db
      .updateTable('recordings')
      .set({ status: 'processing', owner_node: this.node, heartbeat_at: new Date() })
      .where('partner_id', '=', partnerId)
      .where('id', '=', given.id)
      .where('status', 'in', ['recording', 'processing'])
      .returningAll()
      .executeTakeFirst()
      .catch((err) => {
        this.busy.delete(given.id);
        throw err;
      });
    if (!rec) {
      this.busy.delete(given.id);
      return;
    }
    try {
      const start = new Date(rec.start_time).getTime();
      const tracks: (RecordingTrack & { duration: number })[] = [];
      for (const track of rec.tracks) {
        const file = recordings.storage.localPath(track.storage_key);
        const duration = await probeDuration(file);
        this.log.debug({ recordingId: rec.id, track: track.file_name, duration }, 'speaker track');
        if (!(duration && duration > 0)) {
          await recordings.storage.delete(track.storage_key);
          continue;
        }
        const writtenUntil = await stat(file).then(
          (s) => (s.mtimeMs - start) / 1000,
          () => null,
        );
        tracks.push({ ...track, offset: trackOffset(track, duration, writtenUntil), duration });
      }
      if (endedAt === null && tracks.length === 0) {
        // Cut by a crash before any audio reached the disk: a silent file would pass for the talk.
        await this.failNothingSaved(rec);
        return;
      }
      const spoken = Math.max(0, ...tracks.map((t) => t.offset + t.duration));
      const total = Math.max(endedAt ? (endedAt.getTime() - start) / 1000 : spoken, 0.1);
      const out = recordings.storage.localPath(rec.storage_key);
      await mkdir(path.dirname(out), { recursive: true });
      const partial = `${out}.part`;
      await run('ffmpeg', [
        ...mixArgs(
          tracks.map((t) => ({ file: recordings.storage.localPath(t.storage_key), offset: t.offset })),
          total,
        ),
        partial,
      ]);
      await rename(partial, out);
      const [size, duration] = [(await stat(out)).size, await probeDuration(out)];
      for (const t of tracks) await recordings.storage.commit(t.storage_key);
      await recordings.storage.commit(rec.storage_key);
      const kept: RecordingTrack[] = tracks.map(({ duration: _d, ...t }) => t);
      let transcribe = false;
      await db.db.transaction().execute(async (tx) => {
        const done = await tx
          .updateTable('recordings')
          .set({
            status: 'ready',
            size,
            duration,
            end_time: new Date(start + (duration ?? total) * 1000),
            tracks: JSON.stringify(kept),
            updated_at: new Date(),
          })
          .where('partner_id', '=', partnerId)
          .where('id', '=', rec.id)
          .where('status', 'in', ['recording', 'processing'])
          .returningAll()
          .executeTakeFirst();
        if (!done) return;
        await this.services.events.emit(tx, partnerId, 'recording_saved', { ...recordings.toJson(done), talk_id: done.talk_id });
        if (config.TRANSCRIBE_ENGINE !== 'none' && kept.length > 0) {
          await queue.sendInTx(tx, this.transcribeQueue, { partnerId, recordingId: rec.id }, { retryLimit: 3, retryDelay: 30, retryBackoff: true });
          transcribe = true;
        }
      });
      if (transcribe) this.onTranscriptionQueued();
      // In the store now: the mix's local copy is not needed here, nor the tracks' unless they are to be transcribed (the transcriber releases them).
      for (const key of [rec.storage_key, ...(transcribe ? [] : kept.map((t) => t.storage_key))]) await recordings.storage.release(key);
      this.log.info({ recordingId: rec.id, duration, size }, 'recording saved');
    } catch (err) {
      this.log.error({ err, recordingId: rec.id }, 'finalizing a recording failed');
      await recordings.repo.update(partnerId, rec.id, {
        status: 'failed',
        failure_reason: 'Mixing the speaker tracks into the recording failed; the server log has the details.',
      });
    } finally {
      this.busy.delete(rec.id);
    }
  }
}

/**
 * Where a track starts on the recording's timeline (seconds), given its file's `duration` and when
 * the file was last written (`writtenUntil`, seconds from the recording's start; null if unknown).
 * A capture that was stopped has its `end` (see RecordingTrack.end): it is placed by that. One a
 * crash cut keeps the estimate of its start (the tap's time), except that a file cannot hold audio
 * from after its last write: a track that would end past it by more than a fragment (0.5 s) is
 * placed to end there (its stream ran ahead of the clock, so its start was the wrong anchor).
 */
export function trackOffset(track: RecordingTrack, duration: number, writtenUntil: number | null): number {
  if (track.end !== undefined) return Math.max(0, track.end - duration);
  if (writtenUntil !== null && track.offset + duration > writtenUntil + 0.5) return Math.max(0, writtenUntil - duration);
  return track.offset;
}

/** The transcription queue of a node: its own with local storage (the files are on its disk), the shared one with S3. */
export function transcribeQueueFor(storage: 'local' | 's3', node: string): string {
  if (storage === 's3') return TRANSCRIBE_JOB;
  return `${TRANSCRIBE_JOB}.${createHash('sha256').update(node).digest('hex').slice(0, 12)}`;
}

/** ffmpeg arguments that place each track at its offset and mix them into one AAC mp4 of `total` seconds. */
export function mixArgs(inputs: { file: string; offset: number }[], total: number): string[] {
  const args = ['-nostdin', '-loglevel', 'error', '-y'];
  if (inputs.length === 0) {
    return [...args, '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', total.toFixed(3), ...MIX_OUTPUT];
  }
  for (const input of inputs) args.push('-i', input.file);
  const chains = inputs.map((input, i) => `[${i}:a]aresample=48000,aformat=channel_layouts=mono,adelay=${Math.round(input.offset * 1000)}:all=1[a${i}]`);
  const mix = `${inputs.map((_, i) => `[a${i}]`).join('')}amix=inputs=${inputs.length}:duration=longest:normalize=0,apad[out]`;
  return [...args, '-filter_complex', [...chains, mix].join(';'), '-map', '[out]', '-t', total.toFixed(3), ...MIX_OUTPUT];
}

/** The mixed file: AAC in an mp4 with its index first, so players start before the download ends. */
const MIX_OUTPUT = ['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', '-f', 'mp4'];
