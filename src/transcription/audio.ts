import { run } from '../platform/media.js';

/** Converts any audio file to the 16 kHz mono 16-bit WAV every engine takes. */
export async function toWav16k(input: string, output: string): Promise<void> {
  // A second of trailing silence lets pocketsphinx close an utterance that runs to the end of the file.
  await run('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', input, '-af', 'apad=pad_dur=1', '-ar', '16000', '-ac', '1', '-c:a', 'pcm_s16le', output]);
}
