import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../platform/db/index.js';
import type { Talk } from '../platform/db/schema.js';
import { iso } from '../platform/http.js';
import { OPUS_PAYLOAD_TYPE, RtpHold, freeRtpPort, writeSdp } from '../platform/media.js';
import type { LiveTalkObserver, LiveTalks, SpeakerInfo } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import type { Word } from '../transcription/types.js';
import { type Dictionary, type VocabularyWord, applyVocabulary, soundMatched, loadDictionary, pronounce, talkVocabulary } from '../transcription/vocabulary.js';
import type { EventSink } from '../webhooks/events.js';
import { DecoderPool } from './decoder.js';
import { type Phrase, SpeakerRecognizer } from './recognizer.js';
import { CaptionsRepository } from './repository.js';

interface Listening {
  speaker: SpeakerInfo;
  recognizer: SpeakerRecognizer;
  stopTap: (() => Promise<void>) | null;
  /** Holds the tap's packets until the recognizer's ffmpeg listens (the first words are not lost). */
  hold: RtpHold;
  sdpDir: string;
  stopped: boolean;
}

/**
 * A live talk's own words (its name, its description, its speakers' names) in its captions, matched
 * as the post-talk transcript matches them (src/transcription/vocabulary.ts): "rag nathan" becomes
 * "raghunathan", so the captions and the transcript spell a guest's name alike.
 */
export class LiveVocabulary {
  /** Words found already: a new speaker's name looks up only its own new words. */
  private readonly found = new Set<string>();
  /** The words the dictionary lacks, matched in the recognized words (as the transcript does). */
  private readonly missing: VocabularyWord[] = [];
  /** Every word with its phones, for the decoders to recognize (those they know already they skip). */
  private readonly all: VocabularyWord[] = [];
  private dict: Dictionary | null = null;
  private ready: Promise<void> = Promise.resolve();
  private readonly recognizers = new Set<SpeakerRecognizer>();

  /** More of the talk's text (a new speaker's name); its new words are looked up in the background. */
  add(texts: (string | null | undefined)[]): void {
    const wanted = talkVocabulary(texts);
    if (wanted.every((w) => this.found.has(w))) return;
    this.ready = this.ready
      .then(async () => {
        // A word not found (Festival missing at that moment) is asked again when it comes again: the
        // same speaker rejoining. Festival's answer that it has none is kept by pronounce, not re-run.
        const fresh = wanted.filter((w) => !this.found.has(w));
        if (!fresh.length) return;
        const words = await pronounce(fresh);
        for (const w of words) this.found.add(w.word);
        this.missing.push(...soundMatched(words));
        if (this.missing.length) this.dict ??= await loadDictionary();
        this.all.push(...words);
        for (const r of this.recognizers) r.addWords(words);
      })
      .catch(() => undefined); // no dictionary or no Festival: captions as recognized
  }

  /** A speaker's recognizer gets the words, now and as they are found. */
  listen(recognizer: SpeakerRecognizer): void {
    this.recognizers.add(recognizer);
    recognizer.addWords(this.all);
  }

  forget(recognizer: SpeakerRecognizer): void {
    this.recognizers.delete(recognizer);
  }

  /** A phrase's words with the vocabulary applied (after a lookup in progress). */
  async apply(words: Word[]): Promise<Word[]> {
    await this.ready;
    return this.dict ? applyVocabulary(words, this.missing, this.dict) : words;
  }

  /** Interim text, with the vocabulary as it is now. */
  applyNow(text: string): string {
    if (!this.dict || !this.missing.length) return text;
    const words = text.split(' ').map((word) => ({ word, start: 0, end: 0 }));
    return applyVocabulary(words, this.missing, this.dict)
      .map((w) => w.word)
      .join(' ');
  }
}

interface LiveTalk {
  talkId: string;
  partnerId: string;
  vocabulary: LiveVocabulary;
  speakers: Map<string, Listening>;
  /** Speakers starting and stopping, one after another in the order the room reported them. */
  ops: Promise<unknown>;
  /** Captions of one talk are saved one after another, so seq follows the order phrases were recognized. */
  saving: Promise<unknown>;
}

/** One caption's path from phrase end to the room, for the latency benchmark. */
export interface CaptionTiming {
  talkId: string;
  seq: number;
  /** ms from the arrival of the phrase's last audio to the caption's broadcast. */
  latencyMs: number;
}

/** What the captioner reads and writes. */
export interface CaptionsDeps {
  log: Logger;
  db: DatabaseHandle;
  talks: Pick<TalksService, 'byIdForRoom'>;
  events: EventSink;
}

/**
 * Live captions: while a talk is live, each speaker's tapped audio is recognized as it streams
 * (see recognizer.ts); every phrase is saved as a caption (numbered per talk), emitted to
 * partners as next_caption in the same transaction, then broadcast to the room.
 */
export class LiveCaptions implements LiveTalkObserver {
  readonly repo: CaptionsRepository;
  private readonly talks = new Map<string, LiveTalk>();
  /** The most recent caption timings (bounded), read by the benchmark and the tests. */
  readonly timings: CaptionTiming[] = [];
  /** When interim text was shown (bounded), read by the benchmark and the tests. */
  readonly interims: { talkId: string; participantId: string; at: number }[] = [];
  readonly pool = new DecoderPool((why) =>
    this.log.error(`live captions cannot start: ${why} (they need Debian's python3-pocketsphinx: bash scripts/setup-system.sh installs it)`),
  );

  constructor(
    private readonly services: CaptionsDeps,
    private readonly live: LiveTalks,
  ) {
    this.repo = new CaptionsRepository(services.db.db);
  }

  private get log() {
    return this.services.log.child({ component: 'captions' });
  }

  talkStarted(talk: Talk): void {
    this.liveTalk(talk);
  }

  private liveTalk(talk: Pick<Talk, 'id' | 'partner_id' | 'name' | 'description'>): LiveTalk {
    const talkId = talk.id;
    let t = this.talks.get(talkId);
    if (!t) {
      t = { talkId, partnerId: talk.partner_id, vocabulary: new LiveVocabulary(), speakers: new Map(), ops: Promise.resolve(), saving: Promise.resolve() };
      t.vocabulary.add([talk.name, talk.description]);
      this.talks.set(talkId, t);
    }
    return t;
  }

  /** Runs `op` after every earlier start/stop of the same talk; failures are logged, not thrown at the room. */
  private enqueue(t: LiveTalk, what: string, op: () => Promise<void>): Promise<void> {
    const next = t.ops.then(op).catch((err) => this.log.error({ err, talkId: t.talkId }, `captions ${what} failed`));
    t.ops = next;
    return next;
  }

  async speakerStarted(talkId: string, speaker: SpeakerInfo): Promise<void> {
    let t = this.talks.get(talkId);
    if (!t) {
      const talk = await this.services.talks.byIdForRoom(talkId);
      if (!talk) return;
      t = this.liveTalk(talk);
    }
    const talk = t;
    talk.vocabulary.add([speaker.name]);
    return this.enqueue(talk, 'speaker start', async () => {
      if (talk.speakers.has(speaker.participantId) || this.talks.get(talkId) !== talk) return;
      const sdpDir = await mkdtemp(path.join(os.tmpdir(), 'smalltalk-captions-'));
      const port = await freeRtpPort();
      const sdp = path.join(sdpDir, 'speaker.sdp');
      await writeSdp(sdp, port);
      const where = { talkId, participantId: speaker.participantId };
      const hold = await RtpHold.open();
      const recognizer = new SpeakerRecognizer(sdp, {
        decoder: () => this.pool.take(),
        onPartial: (text) => this.interim(talk, speaker, text),
        onPhrase: (phrase) => {
          talk.saving = talk.saving.then(() => this.publish(talk, speaker, phrase)).catch((err) => this.log.error({ err, talkId }, 'saving a caption failed'));
        },
        onError: (err) => this.log.error({ err, ...where }, 'live recognizer failed'),
        onNotice: (msg) => this.log.info(where, msg),
      });
      talk.vocabulary.listen(recognizer);
      const listening: Listening = { speaker, recognizer, stopTap: null, hold, sdpDir, stopped: false };
      talk.speakers.set(speaker.participantId, listening);
      try {
        listening.stopTap = await this.live.tapSpeaker(talkId, speaker.participantId, { host: '127.0.0.1', port: hold.port, payloadType: OPUS_PAYLOAD_TYPE });
        // Watched aside, not to hold up the talk's queue.
        void hold.releaseWhenListening(port, () => !listening.stopped);
      } catch (err) {
        talk.speakers.delete(speaker.participantId);
        talk.vocabulary.forget(recognizer);
        await this.stopListening(listening);
        throw err;
      }
    });
  }

  speakerStopped(talkId: string, participantId: string): Promise<void> {
    const t = this.talks.get(talkId);
    if (!t) return Promise.resolve();
    return this.enqueue(t, 'speaker stop', async () => {
      const listening = t.speakers.get(participantId);
      if (!listening) return;
      t.speakers.delete(participantId);
      t.vocabulary.forget(listening.recognizer);
      await this.stopListening(listening);
    });
  }

  /** The talk ended: each recognizer finishes its last phrase, which is still saved and sent. */
  async talkStopped(talkId: string): Promise<void> {
    const t = this.talks.get(talkId);
    if (!t) return;
    this.talks.delete(talkId);
    await this.enqueue(t, 'stop', async () => {
      await Promise.all([...t.speakers.values()].map((l) => this.stopListening(l)));
      t.speakers.clear();
    });
    await t.saving;
  }

  private async stopListening(l: Listening): Promise<void> {
    l.stopped = true;
    await l.stopTap?.().catch((err) => this.log.warn({ err }, 'stopping a caption tap failed'));
    l.hold.close();
    await l.recognizer.stop();
    await rm(l.sdpDir, { recursive: true, force: true });
  }

  /**
   * The text so far of a phrase being spoken: shown in the room only. It is not saved nor sent as
   * next_caption, which the API defines as a caption "added to the real time transcript": a
   * partner appending each next_caption would show every interim as a line of its own.
   */
  private interim(t: LiveTalk, speaker: SpeakerInfo, text: string): void {
    this.live.broadcastCaption(t.talkId, {
      seq: 0,
      participantId: speaker.participantId,
      name: speaker.name,
      text: t.vocabulary.applyNow(text),
      timestamp: new Date().toISOString(),
      interim: true,
    });
    this.interims.push({ talkId: t.talkId, participantId: speaker.participantId, at: Date.now() });
    if (this.interims.length > 10_000) this.interims.splice(0, 5_000);
  }

  /** Saves the caption and emits next_caption in one transaction, then shows it in the room. */
  private async publish(t: LiveTalk, speaker: SpeakerInfo, phrase: Phrase): Promise<void> {
    const text = (await t.vocabulary.apply(phrase.words)).map((w) => w.word).join(' ');
    const caption = await this.services.db.db.transaction().execute(async (tx) => {
      const seq = await this.repo.nextSeq(tx, t.talkId);
      const row = await this.repo.insert(tx, {
        partner_id: t.partnerId,
        talk_id: t.talkId,
        seq,
        participant_id: speaker.participantId,
        user_id: speaker.userId,
        uid: speaker.uid,
        name: speaker.name,
        username: speaker.username,
        avatar_url: speaker.photoUrl,
        text,
        spoken_at: phrase.startedAt,
      });
      await this.services.events.emit(tx, t.partnerId, 'next_caption', {
        message: text,
        fullname: speaker.name,
        avatar_url: speaker.photoUrl,
        username: speaker.username,
        timestamp: iso(phrase.startedAt),
        talkId: t.talkId,
        seq,
      });
      return row;
    });
    const seq = Number(caption.seq);
    this.live.broadcastCaption(t.talkId, {
      seq,
      participantId: speaker.participantId,
      name: speaker.name,
      text,
      timestamp: iso(phrase.startedAt) as string,
    });
    const latencyMs = Date.now() - phrase.endedAt;
    this.timings.push({ talkId: t.talkId, seq, latencyMs });
    if (this.timings.length > 10_000) this.timings.splice(0, 5_000);
    this.log.debug({ talkId: t.talkId, seq, latencyMs, text }, 'caption');
  }

  /**
   * Start-up: the decoders' model process is started, and pocketsphinx's dictionary (for the talks'
   * own words) read, so the first talk does not wait for them: the dictionary holds the main thread
   * for about 0.4 s, which delayed ten talks' first captions when they started together.
   */
  start(): void {
    this.pool.warm();
    loadDictionary().catch(() => undefined); // missing: the talks' words are left out (LiveVocabulary)
  }

  /** Shutdown: stops every recognizer (their last phrases are saved). */
  async stop(): Promise<void> {
    await Promise.all([...this.talks.keys()].map((id) => this.talkStopped(id)));
    this.pool.close();
  }
}
