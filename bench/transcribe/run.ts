// Transcription benchmark: real-time factor (processing seconds / audio seconds) and WER per
// engine, on Festival sentences and Debian's LibriVox utterances; recorder CPU per live talk.
// The baseline, measured in the same run, is pocketsphinx_continuous invoked bare on each WAV.
// Usage: npm run bench:transcribe   (whisper runs when WHISPER_MODEL_PATH is set; http when TRANSCRIBE_HTTP_URL is)
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config.js';
import { OPUS_PAYLOAD_TYPE, captureArgs, exited, freeRtpPort, probeDuration, run, spawnTied, writeSdp } from '../../src/recordings/media.js';
import { createEngine } from '../../src/transcription/engine.js';
import { toWav16k } from '../../src/transcription/transcriber.js';
import { speech, wer } from '../../test/recording/media.js';

const FESTIVAL = [
  'The quick brown fox jumps over the lazy dog.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'Welcome everyone to our weekly talk about the garden.',
  'Today we will plant tomatoes and water the young trees.',
  'Thank you for having me on the show.',
  'I brought some seeds from my farm in the north.',
];
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

async function corpus(): Promise<{ set: string; file: string; text: string }[]> {
  const items = await Promise.all(FESTIVAL.map(async (text) => ({ set: 'festival', file: await speech(text), text })));
  const lines = readFileSync(path.join(LIBRIVOX, 'transcription'), 'utf8').trim().split('\n');
  for (const line of lines) {
    const m = /^(.*)\s+\(([^)]+)\)$/.exec(line.trim());
    if (m) items.push({ set: 'librivox', file: path.join(LIBRIVOX, `${m[2]}.wav`), text: m[1].replace(/<\/?s>/g, '').trim() });
  }
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
  const engines = ['pocketsphinx', ...(env.WHISPER_MODEL_PATH ? ['whisper'] : []), ...(env.TRANSCRIBE_HTTP_URL ? ['http'] : [])] as const;
  console.log('| engine | set | utterances | audio s | WER | RTF | RTF / baseline |');
  console.log('|---|---|---|---|---|---|---|');
  for (const set of ['festival', 'librivox']) {
    const subset = wavs.filter((w) => w.set === set);
    const audio = subset.reduce((a, w) => a + w.seconds, 0);
    let t0 = performance.now();
    for (const w of subset) await run('pocketsphinx_continuous', ['-infile', w.wav, '-logfn', '/dev/null']);
    const baseline = (performance.now() - t0) / 1000 / audio;
    console.log(`| pocketsphinx_continuous bare (baseline) | ${set} | ${subset.length} | ${audio.toFixed(1)} | - | ${baseline.toFixed(3)} | 1.00 |`);
    for (const name of engines) {
      const engine = createEngine(loadConfig({ ...env, TRANSCRIBE_ENGINE: name, SECRET_KEY: 'bench-secret-0123456789abcdefghijklmnopqrstuv', DATA_DIR: work }));
      if (!engine) continue;
      await engine.load();
      let ref = '';
      let hyp = '';
      t0 = performance.now();
      for (const w of subset) {
        const result = await engine.transcribe(w.wav);
        ref += ` ${w.text}`;
        hyp += ` ${result.utterances.map((u) => u.text).join(' ')}`;
      }
      const rtf = (performance.now() - t0) / 1000 / audio;
      console.log(
        `| ${name} | ${set} | ${subset.length} | ${audio.toFixed(1)} | ${(wer(ref, hyp) * 100).toFixed(1)}% | ${rtf.toFixed(3)} | ${(rtf / baseline).toFixed(2)} |`,
      );
      await engine.close?.();
    }
  }
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
  await rm(work, { recursive: true, force: true });
}

await main();
