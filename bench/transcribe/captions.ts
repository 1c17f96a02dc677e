// Caption latency and transcript readiness, end to end through the app (real ffmpeg, pocketsphinx,
// database, job queue), with the RTP stand-in room of test/recording/captions.test.ts: two speakers
// each play a Festival talk of many phrases as real-time Opus RTP, at the same time, from a player
// process of their own (as a real SFU's taps come from outside the app's event loop).
//   - caption latency: phrase end -> caption broadcast to the room, p50/p95 over every phrase.
//     "sent": phrase end = when the sender played the phrase's last sample (the speaker's first RTP
//     packet, as the player process sent it (test/recording/rtp-player.ts), + the phrase's end offset in the WAV).
//     "arrived": phrase end = when that audio reached the recognizer (what LiveCaptions records).
//   - transcript readiness: talk end -> transcript stored (transcription_ready emitted), as a
//     fraction of the talk's duration; also talk end -> recording ready.
//   - caption WER against the post-talk transcript's WER on the same audio (goal: <= 1.5x).
//   - CPU of the recorder and captioner per live talk (this process and its reaped children, from /proc).
// Usage: npx tsx bench/transcribe/captions.ts [--phrases N] [--talks T] [--speakers S] [--corpus festival|librivox] [--stagger MS]
//   N phrases per speaker (default 12), T talks at once (default 1) of S speakers speaking at the same
//   time (default 2; 1 is an ordinary talk, one person speaking); librivox: the utterances in
//   /usr/share/pocketsphinx/test/data/librivox instead of Festival speech. --stagger MS starts each
//   talk MS after the one before (talks then neither start nor end their phrases at the same moment).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childrenOf } from '../../test/support/processes.js';
import { probeDuration } from '../../src/platform/media.js';
import { spawnerPid, startSpawner } from '../../src/platform/spawner.js';
import { api } from '../../test/support/api.js';
import { createPartner, startApp } from '../../test/support/app.js';
import { waitFor } from '../../test/support/wait.js';
import { speaker, speech, wer, withPauses } from '../../test/recording/media.js';
import { PlayedRoom, encodeVoice } from '../../test/recording/rtp-player.js';

const LINES = [
  'Welcome everyone to our weekly talk about the garden.',
  'Today we will plant tomatoes and water the young trees.',
  'Thank you for having me on the show.',
  'I brought some seeds from my farm in the north.',
  'The quick brown fox jumps over the lazy dog.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'The weather was cold and wet for most of the spring.',
  'We need more sunlight for the peppers to grow.',
  'My grandmother kept bees behind the old barn.',
  'The children picked apples from the tall trees.',
  'Water the roots early in the morning before it gets hot.',
  'A good compost pile needs air and a little water.',
  'The market opens at eight on Saturday morning.',
  'Our neighbors share their tools with the whole street.',
  'Beans climb the fence when you give them strings.',
  'The river flooded the lower field last year.',
  'Cut the grass when it is dry and not too short.',
  'Birds eat the seeds if you do not cover them.',
  'We will sell the honey at the fair next month.',
  'Thank you all for listening and see you next week.',
];
const GAP_S = 1.5;

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const perSpeaker = Number(arg('--phrases') ?? 12);
const talks = Number(arg('--talks') ?? 1);
const speakerCount = Math.max(1, Math.min(2, Number(arg('--speakers') ?? 2)));
const corpus = arg('--corpus') === 'librivox' ? 'librivox' : 'festival';
/** Milliseconds between one talk's start and the next's (default 0: all at once, every phrase ending at the same moment in every talk). */
const stagger = Number(arg('--stagger') ?? 0);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * The stand-in room, also noting when each caption was broadcast. Its taps are played by an
 * RtpPlayer in a process of its own (test/recording/rtp-player.ts): the phrase ends are counted
 * from the moment the speaker's first packet was sent.
 */
class TimedRoom extends PlayedRoom {
  readonly broadcastAt: { participantId: string; text: string; at: number }[] = [];
  /** Interim text (the words so far of a phrase being spoken), kept apart from captions. */
  readonly interimAt: { participantId: string; text: string; at: number }[] = [];
  override broadcastCaption(talkId: string, caption: { seq: number; participantId: string; name: string; text: string; timestamp: string; interim?: boolean }) {
    if (caption.interim) {
      this.interimAt.push({ participantId: caption.participantId, text: caption.text, at: Date.now() });
      return;
    }
    super.broadcastCaption(talkId, caption);
    this.broadcastAt.push({ participantId: caption.participantId, text: caption.text, at: Date.now() });
  }
}

/**
 * CPU seconds used by this process and its spawner (src/platform/spawner.ts), each with every child
 * it reaped (ffmpeg, pocketsphinx, ...), from /proc.
 */
function cpuSeconds(): number {
  const of = (pid: number | 'self') => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of stat (12-15 after the command name).
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
  };
  const spawner = spawnerPid();
  // The spawner and every process under it still running (the live captions' model process and the
  // decoders it forked, which it reaps only as they end): each one's own CPU and its ended children's.
  let sum = of('self');
  for (const pid of spawner ? [spawner, ...childrenOf(spawner)] : []) {
    try {
      sum += of(pid);
    } catch {
      // ended meanwhile: its CPU is in its parent's now
    }
  }
  return sum;
}

/** The phrases one speaker says: Festival speech of LINES, or Debian's LibriVox utterances. */
async function phrasesOf(i: number): Promise<{ lines: string[]; files: string[] }> {
  if (corpus === 'librivox') {
    const dir = '/usr/share/pocketsphinx/test/data/librivox';
    const refs = readFileSync(path.join(dir, 'transcription'), 'utf8')
      .split('\n')
      .map((l) => /^<s> (.*) <\/s> \((.*)\)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null);
    const picked = Array.from({ length: perSpeaker }, (_, k) => refs[(k * 2 + i) % refs.length]);
    return { lines: picked.map((m) => m[1]), files: picked.map((m) => path.join(dir, `${m[2]}.wav`)) };
  }
  const lines = Array.from({ length: perSpeaker }, (_, k) => LINES[(k * 2 + i) % LINES.length]);
  return { lines, files: await Promise.all(lines.map(speech)) };
}

async function main() {
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  console.log(
    `load average at start: ${load()} (${os.cpus().length} cores); ${talks} talk(s) at once${stagger ? `, each started ${stagger} ms after the one before` : ''}, ${corpus} speech`,
  );
  const speakers = ['host-b', 'guest-b'].slice(0, speakerCount);
  const voices: { id: string; wav: string; opus: string; lines: string[]; phraseEnds: number[]; speechSeconds: number }[] = [];
  for (const [i, id] of speakers.entries()) {
    const { lines, files } = await phrasesOf(i);
    const durations = await Promise.all(files.map(async (f) => (await probeDuration(f)) ?? 0));
    let t = 0;
    const phraseEnds = durations.map((d) => {
      t += d;
      const end = t;
      t += GAP_S;
      return end;
    });
    const wav = await withPauses(files, GAP_S, path.join(os.tmpdir(), `st-bench-cap-${corpus}-${id}-${process.pid}.wav`));
    voices.push({ id, wav, opus: await encodeVoice(wav), lines, phraseEnds, speechSeconds: durations.reduce((a, b) => a + b, 0) });
  }

  const room = new TimedRoom();
  // Started now, so that the CPU counted from the talks' start includes every child it reaps.
  if (!(await startSpawner())) throw new Error('the spawner did not start');
  const t = await startApp({ background: false, live: room });
  const { startBackground } = await import('../../src/compose.js');
  await startBackground(t.services);
  try {
    const p = await createPartner(t, 'Bench');
    const live = await Promise.all(
      Array.from({ length: talks }, async (_, n) => {
        const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: `Caption bench ${n + 1}` } });
        const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
        if (!talk) throw new Error('talk not created');
        return { talk, voices: voices.map((v) => ({ ...v, id: `${v.id}-${n + 1}` })) };
      }),
    );
    const cpuAtStart = cpuSeconds();
    const startedAt = Date.now();
    await Promise.all(
      live.map(async ({ talk, voices: vs }, n) => {
        if (stagger) await new Promise((r) => setTimeout(r, n * stagger));
        for (const v of vs) room.opus.set(v.id, v.opus);
        await room.talkStarted(talk);
        await Promise.all(vs.map((v, i) => room.speakerStarted(talk.id, speaker(v.id, `Speaker ${i + 1}`, `s${i + 1}`))));
      }),
    );
    await Promise.all(live.flatMap(({ voices: vs }) => vs.map((v) => room.finished(v.id))));
    // Let the last phrase's caption come out while the talks are still live (it ends at a pause).
    await new Promise((r) => setTimeout(r, 3000));
    const endedAt = Date.now();
    const talkSeconds = (endedAt - startedAt) / 1000;
    await Promise.all(live.map(({ talk }) => room.talkStopped(talk.id)));
    const stopsDone = Date.now();
    const cpuPerTalk = (cpuSeconds() - cpuAtStart) / talks / ((stopsDone - startedAt) / 1000);

    // Caption latency.
    const sent: number[] = [];
    /** Latencies by the phrase's place in the talk (the first phrase also waits for the talk's start-up). */
    const byPhrase: number[][] = Array.from({ length: perSpeaker }, () => []);
    /** Phrases that had interim text shown between their start and their caption. */
    let withInterim = 0;
    const unmatched: string[] = [];
    const liveWer: number[] = [];
    for (const { voices: vs } of live) {
      for (const v of vs) {
        const senderStart = room.player.startedAt.get(v.id) ?? startedAt;
        const captions = room.broadcastAt.filter((c) => c.participantId === v.id && c.at <= endedAt);
        // Each phrase's caption: the first caption broadcast after the phrase ended and before the next one ended.
        for (const [k, end] of v.phraseEnds.entries()) {
          const endAt = senderStart + end * 1000;
          const nextEnd = k + 1 < v.phraseEnds.length ? senderStart + v.phraseEnds[k + 1] * 1000 : Number.POSITIVE_INFINITY;
          const c = captions.find((x) => x.at >= endAt && x.at < nextEnd);
          byPhrase[k].push(c ? c.at - endAt : Number.POSITIVE_INFINITY);
          if (c) sent.push(c.at - endAt);
          else unmatched.push(`${v.id} #${k + 1}`);
          const previousEnd = k > 0 ? senderStart + v.phraseEnds[k - 1] * 1000 : senderStart;
          if (c && room.interimAt.some((x) => x.participantId === v.id && x.at > previousEnd && x.at < c.at)) withInterim++;
        }
        liveWer.push(
          wer(
            v.lines.join(' '),
            room.broadcastAt
              .filter((c) => c.participantId === v.id)
              .map((c) => c.text)
              .join(' '),
          ),
        );
      }
    }
    const ids = new Set(live.map((l) => l.talk.id));
    const timings = t.services.captions.timings.filter((x) => ids.has(x.talkId)) ?? [];
    const arrived = timings.map((x) => x.latencyMs);
    const interims = t.services.captions.interims.filter((x) => ids.has(x.talkId)).length ?? 0;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const speechSeconds = voices.reduce((sum, v) => sum + v.speechSeconds, 0) * talks;
    console.log(`talks: ${talks} x ${talkSeconds.toFixed(1)} s, ${speakerCount} speaker(s) x ${perSpeaker} phrases each; load average now ${load()}`);
    console.log(
      `caption latency from phrase sent, ms (n=${sent.length}, ${unmatched.length} phrases without their own caption${unmatched.length ? `: ${unmatched.slice(0, 10).join(', ')}` : ''}): p50 ${percentile(sent, 50)} p95 ${percentile(sent, 95)} max ${Math.max(...sent)}`,
    );
    const missed = [...sent, ...unmatched.map(() => Number.POSITIVE_INFINITY)];
    console.log(
      `caption latency from phrase sent, phrases without their own caption counted as missed (n=${missed.length}): p50 ${percentile(missed, 50)} p95 ${percentile(missed, 95)}; within 1.5 s: ${sent.filter((x) => x <= 1500).length} of ${missed.length}`,
    );
    console.log(`caption latency by phrase, p50/max ms: ${byPhrase.map((xs, k) => `#${k + 1} ${percentile(xs, 50)}/${Math.max(...xs)}`).join(', ')}`);
    console.log(
      `caption latency from audio arrival, ms (n=${arrived.length}): p50 ${percentile(arrived, 50)} p95 ${percentile(arrived, 95)} max ${Math.max(...arrived)}`,
    );
    console.log(`interim texts shown: ${interims}; phrases with interim text before their caption: ${withInterim} of ${sent.length}`);
    console.log(`caption WER per speaker: ${liveWer.map((w) => w.toFixed(2)).join(', ')} (mean ${mean(liveWer).toFixed(2)})`);
    console.log(`CPU (this process + ffmpeg + pocketsphinx: recorder and captioner) per live talk: ${cpuPerTalk.toFixed(2)} cores`);
    console.log(
      `CPU per second of speech (all of it, ${speechSeconds.toFixed(0)} s of speech): ${((cpuPerTalk * talks * ((stopsDone - startedAt) / 1000)) / speechSeconds).toFixed(3)} s`,
    );

    // Transcript readiness and WER, for each talk.
    const batchWer: number[] = [];
    let lastTranscribedAt = 0;
    for (const { talk } of live) {
      const rec = await waitFor(
        async () => {
          const rows = await t.services.db.db.selectFrom('recordings').selectAll().where('talk_id', '=', talk.id).execute();
          return rows.find((r) => r.status === 'ready' || r.status === 'failed');
        },
        'recording ready',
        600_000,
      );
      const done = await waitFor(
        async () => {
          const row = await t.services.db.db.selectFrom('recordings').select(['transcription']).where('id', '=', rec.id).executeTakeFirst();
          return row?.transcription ? row : undefined;
        },
        'transcript stored',
        1_800_000,
      );
      lastTranscribedAt = Math.max(lastTranscribedAt, Date.now());
      const transcript = (typeof done.transcription === 'string' ? JSON.parse(done.transcription) : done.transcription) as {
        segments: { text: string; speaker: { name: string } }[];
      };
      for (const [i, v] of voices.entries()) {
        batchWer.push(
          wer(
            v.lines.join(' '),
            transcript.segments
              .filter((s) => s.speaker.name === `Speaker ${i + 1}`)
              .map((s) => s.text)
              .join(' '),
          ),
        );
      }
    }
    const after = (at: number) => `${((at - endedAt) / 1000).toFixed(1)} s`;
    console.log(
      `talk end -> captions stopped ${after(stopsDone)}, last transcript stored ${after(lastTranscribedAt)} = ${((lastTranscribedAt - endedAt) / 1000 / talkSeconds).toFixed(2)} x the talk's duration; transcript WER per speaker: ${batchWer.map((w) => w.toFixed(2)).join(', ')} (mean ${mean(batchWer).toFixed(2)}); caption WER / transcript WER = ${(mean(liveWer) / mean(batchWer)).toFixed(2)} (goal <= 1.5); load average now ${load()}`,
    );
  } finally {
    room.close();
    await t.close();
  }
}

await main();
