// Transcription benchmark: real-time factor (processing seconds / audio seconds) and WER per
// engine, on Festival sentences and Debian's LibriVox utterances; recorder CPU per live talk.
// The baseline, measured in the same run, is pocketsphinx_continuous invoked bare on each WAV.
// Usage: npm run bench:transcribe   (whisper runs when WHISPER_MODEL_PATH is set; http when TRANSCRIBE_HTTP_URL is;
// BENCH_VARIANTS=regex and BENCH_SETS=regex pick rows)
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config.js';
import { OPUS_PAYLOAD_TYPE, captureArgs, exited, freeRtpPort, probeDuration, run, spawnTied, writeSdp } from '../../src/platform/media.js';
import { createEngine } from '../../src/transcription/engine.js';
import { POCKETSPHINX, PocketsphinxEngine, modelArgs, spokenWord } from '../../src/transcription/pocketsphinx.js';
import type { EngineResult, TranscriptionEngine, Utterance } from '../../src/transcription/types.js';
import { talkVocabulary } from '../../src/transcription/vocabulary.js';
import { toWav16k } from '../../src/transcription/audio.js';
import { speech, wer } from '../../test/recording/media.js';
import { decodeSpansBatch } from './batch-decoder.js';

const FESTIVAL = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'Welcome everyone to our weekly talk about the garden.',
  'Today we will plant tomatoes and water the young trees.',
  'Thank you for having me on the show.',
  'I brought some seeds from my farm in the north.',
];
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
/** A talk whose own words (name, speakers) the general model barely knows: the case the talk's vocabulary is for. */
const NAMES_TALK = 'Permaculture with Siobhan Okonkwo and Raghunathan';
const NAMES_PEOPLE = ['Siobhan Okonkwo', 'Vikram Raghunathan'];
const NAMES = [
  'Welcome to permaculture night with Siobhan Okonkwo.',
  'Our guest tonight is Vikram Raghunathan.',
  'Siobhan, tell us how permaculture started for you.',
];
/** Decoder flag sets tried on top of the defaults (pocketsphinx 5 defaults: -lw 6.5, -beam 1e-48, -wbeam 7e-29, -pbeam 1e-48, -maxhmmpf 30000). */
const TUNINGS = [
  ['-lw', '9.5'],
  ['-beam', '1e-60', '-wbeam', '1e-40', '-pbeam', '1e-60'],
  ['-wip', '0.2'],
];

const WORD_LINE = /^(\S+) (\d+\.\d+) (\d+\.\d+) (-?[\d.e+-]+)$/;

/**
 * Reads `pocketsphinx_continuous -time yes` output line by line: each utterance is a hypothesis
 * line, then one `word start end confidence` line per word from `<s>` to `</s>`.
 */
class PocketsphinxParser {
  private words: { word: string; start: number; end: number }[] = [];

  constructor(private readonly onUtterance: (u: Utterance) => void) {}

  line(line: string): void {
    const m = WORD_LINE.exec(line.trim());
    if (!m) return;
    const [, raw, s, e] = m;
    const start = Number(s);
    const end = Number(e);
    if (raw === '<s>') {
      this.words = [];
    } else if (raw === '</s>') {
      const text = this.words.map((w) => w.word).join(' ');
      const first = this.words[0];
      const last = this.words[this.words.length - 1];
      if (first && last && text) this.onUtterance({ start: first.start, end: last.end, text });
      this.words = [];
    } else {
      const word = spokenWord(raw);
      if (word) this.words.push({ word, start, end });
    }
  }
}

function pocketsphinxArgs(infile: string): string[] {
  return ['-infile', infile, '-time', 'yes', '-logfn', '/dev/null', ...modelArgs()];
}

/** The engine before issue 15: pocketsphinx_continuous's own segmentation, words from `-time yes`. */
class ContinuousEngine implements TranscriptionEngine {
  readonly name = 'pocketsphinx' as const;
  async load(): Promise<void> {}
  async transcribe(wav: string): Promise<EngineResult> {
    const utterances: Utterance[] = [];
    const parser = new PocketsphinxParser((u) => utterances.push(u));
    const stdout = await run(POCKETSPHINX, pocketsphinxArgs(wav));
    for (const line of stdout.split('\n')) parser.line(line);
    return { language: 'en', utterances };
  }
}

async function corpus(): Promise<{ set: string; file: string; text: string }[]> {
  const items = await Promise.all(FESTIVAL.map(async (text) => ({ set: 'festival', file: await speech(text), text })));
  const lines = readFileSync(path.join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n');
  for (const line of lines) {
    const m = /^(.*)\s+\(([^)]+)\)$/.exec(line.trim());
    if (m) items.push({ set: 'librivox', file: path.join(LIBRIVOX, `${m[2]}.wav`), text: m[1].replace(/<\/?s>/g, '').trim() });
  }
  for (const text of NAMES) items.push({ set: 'names', file: await speech(text), text });
  return items;
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function recorderCpu(wav: string): Promise<{ seconds: number; cpu: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-rec-'));
  const port = await freeRtpPort();
  await writeSdp(path.join(dir, 's.sdp'), port);
  // The recorder's own capture command.
  const rec = spawnTied('ffmpeg', captureArgs(path.join(dir, 's.sdp'), path.join(dir, 't.m4a')));
  const send = spawnTied(
    'ffmpeg',
    ['-nostdin', '-loglevel', 'error', '-re', '-i', wav, '-c:a', 'libopus', '-payload_type', String(OPUS_PAYLOAD_TYPE), '-f', 'rtp', `rtp://127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const started = Date.now();
  await exited(send);
  const cpu = await cpuSeconds(rec.pid as number);
  const seconds = (Date.now() - started) / 1000;
  rec.kill('SIGKILL');
  await exited(rec);
  await rm(dir, { recursive: true, force: true });
  return { seconds, cpu };
}

/** The recorder's CPU for one speaker, on the Festival sentences in a row. */
async function recorderRow(work: string, wavs: { set: string; wav: string }[]) {
  const talk = path.join(work, 'talk.wav');
  await run('ffmpeg', [
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    ...wavs.filter((w) => w.set === 'festival').flatMap((w) => ['-i', w.wav]),
    '-filter_complex',
    `concat=n=${FESTIVAL.length}:v=0:a=1`,
    talk,
  ]);
  const r = await recorderCpu(talk);
  console.log(
    `\nrecorder (one speaker's RTP -> fragmented AAC mp4): ${r.cpu.toFixed(2)} CPU s over ${r.seconds.toFixed(1)} s of talk = ${((r.cpu / r.seconds) * 100).toFixed(1)}% of a core per speaker`,
  );
}

/**
 * Transcript-ready time as a fraction of talk length: every utterance in a row with 1 s pauses, as
 * one speaker's track, through the default engine (model loaded once per track, as the job does).
 */
async function talkRow(work: string, wavs: { wav: string; text: string }[]) {
  const talk = path.join(work, 'talk-track.wav');
  const pause = ['-f', 'lavfi', '-t', '1', '-i', 'anullsrc=r=16000:cl=mono'];
  const inputs = wavs.flatMap((w) => [...pause, '-i', w.wav]);
  const n = wavs.length * 2;
  const chain = Array.from({ length: n }, (_, i) => `[${i}:a]aformat=sample_rates=16000:channel_layouts=mono[a${i}]`).join(';');
  const concat = `${Array.from({ length: n }, (_, i) => `[a${i}]`).join('')}concat=n=${n}:v=0:a=1[o]`;
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', `${chain};${concat}`, '-map', '[o]', talk]);
  const seconds = (await probeDuration(talk)) ?? 1;
  let t0 = performance.now();
  await run('pocketsphinx_continuous', ['-infile', talk, '-logfn', '/dev/null']);
  const baseline = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const result = await new PocketsphinxEngine().transcribe(talk, { vocabulary: talkVocabulary([NAMES_TALK, ...NAMES_PEOPLE]) });
  const took = (performance.now() - t0) / 1000;
  const lengths = result.utterances.map((u) => u.end - u.start).sort((a, b) => a - b);
  const wer1 = wer(wavs.map((w) => w.text).join(' '), result.utterances.map((u) => u.text).join(' '));
  console.log(
    `\none ${seconds.toFixed(1)} s track, ${wavs.length} utterances with 1 s pauses: default engine ${took.toFixed(1)} s = ${(took / seconds).toFixed(2)} x the talk ` +
      `(bare pocketsphinx_continuous ${(baseline / seconds).toFixed(2)} x, ratio ${(took / baseline).toFixed(2)}); WER ${(wer1 * 100).toFixed(1)}%; ` +
      `${lengths.length} segments, median ${lengths[Math.floor(lengths.length / 2)]?.toFixed(1)} s, longest ${lengths.at(-1)?.toFixed(1)} s`,
  );
}

async function main() {
  const items = await corpus();
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-stt-'));
  const wavs: { set: string; wav: string; text: string; seconds: number }[] = [];
  for (const [i, item] of items.entries()) {
    const wav = path.join(work, `${i}.wav`);
    await toWav16k(item.file, wav);
    wavs.push({ ...item, wav, seconds: (await probeDuration(item.file)) ?? 0 });
  }
  const env = process.env;
  const others = [...(env.WHISPER_MODEL_PATH ? ['whisper'] : []), ...(env.TRANSCRIBE_HTTP_URL ? ['http'] : [])] as const;
  // Each change to the pocketsphinx engine, measured against the previous engine and the bare baseline.
  const variants: { name: string; engine: () => TranscriptionEngine | null; vocabulary?: boolean }[] = [
    { name: 'before: pocketsphinx_continuous -time yes (previous engine)', engine: () => new ContinuousEngine() },
    { name: 'phrases by VAD, pre-roll 0 s, span decoder', engine: () => new PocketsphinxEngine({ vad: { preRoll: 0, postRoll: 0 } }) },
    { name: 'phrases by VAD, pre-roll 0.3 s, span decoder (default)', engine: () => new PocketsphinxEngine() },
    ...TUNINGS.map((tuning) => ({ name: `default + ${tuning.join(' ')}`, engine: () => new PocketsphinxEngine({ tuning }) })),
    { name: 'default + talk vocabulary', engine: () => new PocketsphinxEngine(), vocabulary: true },
    // Before the span decoder: pocketsphinx_batch, which cannot add the talk's words (only matched by sound).
    { name: 'pocketsphinx_batch (before)', engine: () => new PocketsphinxEngine({ decode: decodeSpansBatch }) },
    { name: 'pocketsphinx_batch (before) + talk vocabulary', engine: () => new PocketsphinxEngine({ decode: decodeSpansBatch }), vocabulary: true },
    ...others.map((name) => ({
      name,
      engine: () => createEngine(loadConfig({ ...env, TRANSCRIBE_ENGINE: name, SECRET_KEY: 'bench-secret-0123456789abcdefghijklmnopqrstuv', DATA_DIR: work })),
    })),
  ];
  // BENCH_VARIANTS / BENCH_SETS: regular expressions choosing rows, for a shorter run on a busy machine.
  const only = env.BENCH_VARIANTS ? new RegExp(env.BENCH_VARIANTS) : null;
  const sets = ['festival', 'librivox', 'names'].filter((set) => !env.BENCH_SETS || new RegExp(env.BENCH_SETS).test(set));
  console.log('| engine | set | utterances | audio s | WER | RTF | RTF / baseline |');
  console.log('|---|---|---|---|---|---|---|');
  for (const set of sets) {
    const subset = wavs.filter((w) => w.set === set);
    const audio = subset.reduce((a, w) => a + w.seconds, 0);
    let t0 = performance.now();
    for (const w of subset) await run('pocketsphinx_continuous', ['-infile', w.wav, '-logfn', '/dev/null']);
    const baseline = (performance.now() - t0) / 1000 / audio;
    console.log(`| pocketsphinx_continuous bare (baseline) | ${set} | ${subset.length} | ${audio.toFixed(1)} | - | ${baseline.toFixed(3)} | 1.00 |`);
    for (const variant of variants) {
      if (only && !only.test(variant.name)) continue;
      const engine = variant.engine();
      if (!engine) continue;
      await engine.load();
      let ref = '';
      let hyp = '';
      t0 = performance.now();
      for (const w of subset) {
        const result = await engine.transcribe(w.wav, variant.vocabulary ? { vocabulary: talkVocabulary([NAMES_TALK, ...NAMES_PEOPLE]) } : {});
        ref += ` ${w.text}`;
        hyp += ` ${result.utterances.map((u) => u.text).join(' ')}`;
      }
      const rtf = (performance.now() - t0) / 1000 / audio;
      console.log(
        `| ${variant.name} | ${set} | ${subset.length} | ${audio.toFixed(1)} | ${(wer(ref, hyp) * 100).toFixed(1)}% | ${rtf.toFixed(3)} | ${(rtf / baseline).toFixed(2)} |`,
      );
      await engine.close?.();
    }
  }
  if (!env.BENCH_SETS || /talk/.test(env.BENCH_SETS)) await talkRow(work, wavs);
  if (!only && !env.BENCH_SETS) await recorderRow(work, wavs);
  await rm(work, { recursive: true, force: true });
}

await main();
