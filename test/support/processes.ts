import { readFileSync } from 'node:fs';
import { childrenOf } from '../../src/captions/decoder.js';

/** The parent pid of a process, from /proc. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** A process's command line, its arguments joined by NULs ('' once it is gone). */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * This process's descendants whose command line holds `fragment`: the media children, which start in
 * the spawner process beside this one (src/platform/spawner.ts), not as its own children.
 */
export function descendantsWith(fragment: string): number[] {
  return childrenOf(process.pid).filter((pid) => cmdlineOf(pid).includes(fragment));
}

/** The audience stream's encoder (ffmpeg cutting fMP4 parts, src/audience/encoder.ts) of the one live stream here. */
export const streamEncoders = () => descendantsWith('-frag_duration');
