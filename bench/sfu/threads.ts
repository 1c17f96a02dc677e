import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (utime + stime) of one thread from its /proc stat file, in µs (clock ticks of 10 ms). */
export function threadCpuMicros(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/** CPU time in µs of every thread of this process, by thread id (empty without /proc). */
export function threadTimes(): Record<string, { name: string; micros: number }> {
  const out: Record<string, { name: string; micros: number }> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      out[tid] = { name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(), micros: threadCpuMicros(`/proc/self/task/${tid}/stat`) };
    }
  } catch {
    // no /proc: no per-thread figures
  }
  return out;
}
