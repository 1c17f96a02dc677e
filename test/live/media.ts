import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = path.join(os.tmpdir(), 'smalltalk-live-test-audio');

/** A Festival (HTS voice) speech file, generated once per machine into the temp dir. */
export function speechWav(text = 'Hello everyone, welcome to our live talk. Can you hear me clearly today?'): string {
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `speech-${Buffer.from(text).toString('hex').slice(0, 24)}.wav`);
  if (existsSync(out)) return out;
  const txt = `${out}.txt`;
  writeFileSync(txt, text);
  const raw = `${out}.raw.wav`;
  execFileSync('text2wave', ['-eval', '(voice_cmu_us_slt_arctic_hts)', txt, '-o', raw]);
  // Chromium's fake capture wants 48 kHz; pad with a second of silence so loops are separable.
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', raw, '-ar', '48000', '-ac', '1', '-af', 'apad=pad_dur=1', out]);
  return out;
}
