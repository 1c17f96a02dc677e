// Caption latency and transcript readiness, end to end through the app (real ffmpeg, pocketsphinx,
// database, job queue), with the RTP stand-in room of test/recording/captions.test.ts: two speakers
// each play a Festival talk of many phrases as real-time Opus RTP, at the same time.
//   - caption latency: phrase end -> caption broadcast to the room, p50/p95 over every phrase.
//     "sent": phrase end = when the sender played the phrase's last sample (sender start + the
//     phrase's end offset in the WAV; the sender's own start-up delay counts against us).
//     "arrived": phrase end = when that audio reached the recognizer (what LiveCaptions records).
//   - transcript readiness: talk end -> transcript stored (transcription_ready emitted), as a
//     fraction of the talk's duration; also talk end -> recording ready.
// Usage: npx tsx bench/transcribe/captions.ts [--phrases N]   (N per speaker, default 12)
import os from 'node:os';
import path from 'node:path';
import { captionsOf } from '../../src/captions/feature.js';
import { probeDuration } from '../../src/recordings/media.js';
import type { RtpTarget } from '../../src/rooms/live.js';
import { api, createPartner, startApp, waitFor } from '../../test/helpers.js';
import { RtpTestRoom, speaker, speech, wer, withPauses } from '../../test/recording/media.js';

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

const argPhrases = process.argv.indexOf('--phrases');
const perSpeaker = argPhrases > 0 ? Number(process.argv[argPhrases + 1]) : 12;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** The stand-in room, also noting when each sender started and when each caption was broadcast. */
class TimedRoom extends RtpTestRoom {
  readonly senderStarted = new Map<string, number>();
  readonly broadcastAt: { participantId: string; text: string; at: number }[] = [];
  override async tapSpeaker(talkId: string, participantId: string, target: RtpTarget) {
    const stop = await super.tapSpeaker(talkId, participantId, target);
    if (!this.senderStarted.has(`${participantId}:${target.port}`)) this.senderStarted.set(`${participantId}:${target.port}`, Date.now());
    return stop;
  }
  override broadcastCaption(talkId: string, caption: { seq: number; participantId: string; name: string; text: string; timestamp: string }) {
    super.broadcastCaption(talkId, caption);
    this.broadcastAt.push({ participantId: caption.participantId, text: caption.text, at: Date.now() });
  }
}

async function main() {
  const load = () =>
    os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
  console.log(`load average at start: ${load()} (${os.cpus().length} cores)`);
  const speakers = ['host-b', 'guest-b'];
  const voices: { id: string; wav: string; lines: string[]; phraseEnds: number[] }[] = [];
  for (const [i, id] of speakers.entries()) {
    const lines = Array.from({ length: perSpeaker }, (_, k) => LINES[(k * 2 + i) % LINES.length]);
    const files = await Promise.all(lines.map(speech));
    const durations = await Promise.all(files.map(async (f) => (await probeDuration(f)) ?? 0));
    let t = 0;
    const phraseEnds = durations.map((d) => {
      t += d;
      const end = t;
      t += GAP_S;
      return end;
    });
    const wav = await withPauses(files, GAP_S, path.join(os.tmpdir(), `st-bench-cap-${id}-${process.pid}.wav`));
    voices.push({ id, wav, lines, phraseEnds });
  }

  const room = new TimedRoom();
  const t = await startApp({ background: false });
  t.services.live = room;
  const { startBackground } = await import('../../src/services.js');
  await startBackground(t.services);
  try {
    const p = await createPartner(t, 'Bench');
    const created = await api(t, 'POST', '/api/p/talk', { token: p.token, json: { name: 'Caption bench' } });
    const talk = await t.services.talks.repo.get(p.partnerId, created.body.talk.id);
    if (!talk) throw new Error('talk not created');
    for (const v of voices) room.voice(v.id, v.wav);
    const startedAt = Date.now();
    await room.talkStarted(talk);
    await Promise.all(voices.map((v, i) => room.speakerStarted(talk.id, speaker(v.id, `Speaker ${i + 1}`, `s${i + 1}`))));
    await Promise.all(voices.map((v) => room.finished(v.id)));
    // Let the last phrase's caption come out while the talk is still live (it ends at a pause).
    await new Promise((r) => setTimeout(r, 3000));
    const endedAt = Date.now();
    const talkSeconds = (endedAt - startedAt) / 1000;
    await room.talkStopped(talk.id);
    const stopsDone = Date.now();

    // Caption latency.
    const sent: number[] = [];
    const unmatched: string[] = [];
    for (const v of voices) {
      const key = [...room.senderStarted.keys()].find((k) => k.startsWith(`${v.id}:`));
      const senderStart = key ? (room.senderStarted.get(key) as number) : startedAt;
      const captions = room.broadcastAt.filter((c) => c.participantId === v.id && c.at <= endedAt);
      // Each phrase's caption: the first caption broadcast after the phrase ended and before the next one ended.
      for (const [k, end] of v.phraseEnds.entries()) {
        const endAt = senderStart + end * 1000;
        const nextEnd = k + 1 < v.phraseEnds.length ? senderStart + v.phraseEnds[k + 1] * 1000 : Number.POSITIVE_INFINITY;
        const c = captions.find((x) => x.at >= endAt && x.at < nextEnd);
        if (c) sent.push(c.at - endAt);
        else unmatched.push(`${v.id} #${k + 1}`);
      }
    }
    const timings = captionsOf(t.services)?.timings.filter((x) => x.talkId === talk.id) ?? [];
    const arrived = timings.map((x) => x.latencyMs);
    const liveWer = voices.map((v) =>
      wer(
        v.lines.join(' '),
        room.broadcastAt
          .filter((c) => c.participantId === v.id)
          .map((c) => c.text)
          .join(' '),
      ),
    );
    console.log(`talk: ${talkSeconds.toFixed(1)} s, 2 speakers x ${perSpeaker} phrases; load average now ${load()}`);
    console.log(
      `caption latency from phrase sent, ms (n=${sent.length}, ${unmatched.length} phrases without their own caption${unmatched.length ? `: ${unmatched.join(', ')}` : ''}): p50 ${percentile(sent, 50)} p95 ${percentile(sent, 95)} max ${Math.max(...sent)}`,
    );
    console.log(
      `caption latency from audio arrival, ms (n=${arrived.length}): p50 ${percentile(arrived, 50)} p95 ${percentile(arrived, 95)} max ${Math.max(...arrived)}`,
    );
    console.log(`caption WER per speaker: ${liveWer.map((w) => w.toFixed(2)).join(', ')}`);

    // Transcript readiness.
    const rec = await waitFor(
      async () => {
        const rows = await t.services.db.db.selectFrom('recordings').selectAll().where('talk_id', '=', talk.id).execute();
        return rows.find((r) => r.status === 'ready' || r.status === 'failed');
      },
      'recording ready',
      120_000,
    );
    const readyAt = Date.now();
    const done = await waitFor(
      async () => {
        const row = await t.services.db.db.selectFrom('recordings').select(['transcription']).where('id', '=', rec.id).executeTakeFirst();
        return row?.transcription ? row : undefined;
      },
      'transcript stored',
      600_000,
    );
    const transcribedAt = Date.now();
    const transcript = (typeof done.transcription === 'string' ? JSON.parse(done.transcription) : done.transcription) as {
      segments: { text: string; speaker: { name: string } }[];
    };
    const batchWer = voices.map((v, i) =>
      wer(
        v.lines.join(' '),
        transcript.segments
          .filter((s) => s.speaker.name === `Speaker ${i + 1}`)
          .map((s) => s.text)
          .join(' '),
      ),
    );
    const after = (at: number) => `${((at - endedAt) / 1000).toFixed(1)} s`;
    console.log(
      `talk end -> captions stopped ${after(stopsDone)}, recording ${rec.status} ${after(readyAt)}, transcript stored ${after(transcribedAt)} = ${((transcribedAt - endedAt) / 1000 / talkSeconds).toFixed(2)} x the talk's duration (goal <= 0.5); transcript WER per speaker: ${batchWer.map((w) => w.toFixed(2)).join(', ')}; load average now ${load()}`,
    );
  } finally {
    await t.close();
  }
}

await main();
