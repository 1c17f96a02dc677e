import type { MediaChild } from '../platform/spawner.js';
import { spawnTied } from '../platform/media.js';
import { type Fragment, FragmentReader } from './fmp4.js';

/** AAC frames last 1024 samples; twelve at 48 kHz make a 0.256 s part. */
export const PART_SECONDS = (12 * 1024) / 48_000;

/**
 * One ffmpeg encoding the mixed PCM (s16le, 48 kHz, mono, on its stdin) to AAC in fragmented MP4
 * on its stdout, cut into parts of PART_SECONDS; `FragmentReader` hands back the init segment and
 * each part as it is written.
 */
export class AacEncoder {
  private readonly child: MediaChild;
  readonly exited: Promise<void>;

  /** `startAt`: the media time (s) of the first part, see FragmentReader. */
  constructor(onInit: (init: Buffer) => void, onPart: (part: Fragment) => void, startAt = 0, bitrate = '64k') {
    this.child = spawnTied(
      'ffmpeg',
      [
        ...['-nostdin', '-loglevel', 'error', '-f', 's16le', '-ar', '48000', '-ac', '1', '-i', 'pipe:0'],
        ...['-c:a', 'aac', '-b:a', bitrate, '-f', 'mp4', '-movflags', 'empty_moov+default_base_moof+frag_discont'],
        // Just under twelve frames: ffmpeg cuts at the first frame that reaches it.
        ...['-frag_duration', String(Math.floor(PART_SECONDS * 1e6) - 1000), '-flush_packets', '1', 'pipe:1'],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const reader = new FragmentReader(onInit, onPart, startAt);
    this.child.stdout?.on('data', (chunk: Buffer) => reader.push(chunk));
    this.child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  write(pcm: Buffer): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed && stdin.writableLength < 1 << 20) stdin.write(pcm);
  }

  /** Ends the input (ffmpeg writes its last part and exits); killed if it takes over 3 s. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(timer);
  }
}
