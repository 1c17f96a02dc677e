import { readdirSync, readFileSync } from 'node:fs';
import { childrenOf } from '../../test/support/processes.js';

/** CPU time (utime + stime) of one thread from its /proc stat file, in µs (clock ticks of 10 ms). */
export function threadCpuMicros(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/**
 * CPU time in µs of a process and every descendant (a server's media process, spawner and encoders;
 * nginx's workers); a child that exited meanwhile counts only once reaped.
 */
export function processTreeMicros(pid: number): number {
  let sum = 0;
  for (const p of [pid, ...childrenOf(pid)]) {
    try {
      sum += threadCpuMicros(`/proc/${p}/stat`);
    } catch {
      // gone meanwhile
    }
  }
  return sum;
}

/** CPU time in µs of every thread of a process (this one by default), by thread id (empty without /proc). */
export function threadTimes(pid: number | 'self' = 'self'): Record<string, { name: string; micros: number }> {
  const out: Record<string, { name: string; micros: number }> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      out[tid] = { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), micros: threadCpuMicros(`/proc/${pid}/task/${tid}/stat`) };
    }
  } catch {
    // no /proc: no per-thread figures
  }
  return out;
}

type ThreadTimes = Record<string, { name: string; micros: number }>;

/**
 * Each thread's CPU (µs) between two `threadTimes` of one process, busiest first; its main thread (id
 * `pid`) named `main`. A thread born in between counts all of its CPU.
 */
export function threadDeltas(t0: ThreadTimes, t1: ThreadTimes, pid: number): { main: boolean; name: string; micros: number }[] {
  return Object.entries(t1)
    .map(([tid, t]) => ({ main: tid === String(pid), name: tid === String(pid) ? 'main' : t.name, micros: t.micros - (t0[tid]?.micros ?? 0) }))
    .sort((a, b) => b.micros - a.micros);
}

/** The threads busy 0.5% of a core or more over `wall` seconds between two `threadTimes`: `name:pct%`. */
export function busyThreads(t0: ThreadTimes, t1: ThreadTimes, wall: number, pid: number): string {
  return threadDeltas(t0, t1, pid)
    .map((x) => ({ name: x.name, pct: x.micros / wall / 10_000 }))
    .filter((x) => x.pct >= 0.5)
    .map((x) => `${x.name}:${x.pct.toFixed(1)}%`)
    .join(' ');
}

/** Busy and total clock ticks of each core so far, from /proc/stat (empty without it). */
export function coreTicks(): { busy: number; total: number }[] {
  try {
    return readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => {
        const v = l.trim().split(/\s+/).slice(1).map(Number);
        const total = v.reduce((a, b) => a + b, 0);
        return { busy: total - v[3] - v[4], total };
      });
  } catch {
    return [];
  }
}

/** Each core's busy share (%) between two coreTicks() readings. */
export function coreBusy(a: ReturnType<typeof coreTicks>, b: ReturnType<typeof coreTicks>): number[] {
  return b.map((c, i) => Math.round((100 * (c.busy - (a[i]?.busy ?? 0))) / Math.max(1, c.total - (a[i]?.total ?? 0))));
}
