import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Where a program is on the PATH, or null where it is not. */
export function which(bin: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Where a program the test cannot do without is on the PATH; fails the test where it is not. */
export function requireProgram(bin: string): string {
  const found = which(bin);
  if (!found) throw new Error(`${bin} is not on the PATH (bash scripts/setup-system.sh installs it)`);
  return found;
}

/** The parent pid of a process, from /proc. */
export function parentOf(pid: number): number {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * The processes `pid` started (and those they started), from each process's parent in /proc
 * (`/proc/PID/task/PID/children` is documented as unreliable while the children run); none where
 * there is no /proc.
 */
export function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  const parents = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const e of entries) {
    try {
      parents.set(Number(e), parentOf(Number(e)));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
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
