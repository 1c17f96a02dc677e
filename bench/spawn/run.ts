/**
 * What starting media children costs the app's event loop: the same burst of children (each a
 * `setpriv --pdeathsig KILL` child that lives 2 s, as ffmpeg and pocketsphinx are started) started
 * directly from this process (the baseline, as before the spawner) and through the spawner
 * (src/platform/spawner.ts), in alternating rounds, with every core kept busy by spinning processes
 * (a node running live talks has no idle core; idle, a spawn took 10-16 ms). Prints, per way: the time
 * the spawn calls held the event loop, and the event loop's delay over the burst (p50, p99, max),
 * then the ratios spawner / direct.
 *   npx tsx bench/spawn/run.ts [children per burst=40] [rounds=3] [spinners=2 per core]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { spawnMedia, startSpawner, tied } from '../../src/platform/spawner.js';

const perBurst = Number(process.argv[2] ?? 40);
const rounds = Number(process.argv[3] ?? 3);
const spinners = Number(process.argv[4] ?? 2 * os.availableParallelism());

type Way = 'direct' | 'spawner';
interface Burst {
  heldMs: number;
  p50: number;
  p99: number;
  max: number;
}

async function burst(way: Way): Promise<Burst> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let heldMs = 0;
  const exits: Promise<void>[] = [];
  const [command, args] = tied('sleep', ['2']);
  for (let i = 0; i < perBurst; i++) {
    const t0 = performance.now();
    const child = way === 'direct' ? spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }) : spawnMedia(command, args, ['ignore', 'ignore', 'pipe']);
    heldMs += performance.now() - t0;
    child.stderr?.resume();
    exits.push(new Promise((resolve) => child.once('close', () => resolve())));
    // As talks and speakers start: a few at a time, not all in one tick.
    if (i % 4 === 3) await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(exits);
  delay.disable();
  const ms = (ns: number) => Math.round(ns / 1e5) / 10;
  return { heldMs: Math.round(heldMs), p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
}

if (!(await startSpawner())) throw new Error('the spawner did not start');
const spinning = Array.from({ length: spinners }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
await new Promise((r) => setTimeout(r, 1_000));
const results: Record<Way, Burst[]> = { direct: [], spawner: [] };
try {
  for (let round = 0; round < rounds; round++) {
    for (const way of round % 2 === 0 ? (['direct', 'spawner'] as const) : (['spawner', 'direct'] as const)) {
      const r = await burst(way);
      results[way].push(r);
      console.log(`round ${round + 1} ${way.padEnd(7)}: spawn calls held the loop ${r.heldMs} ms; loop delay p50 ${r.p50} / p99 ${r.p99} / max ${r.max} ms`);
    }
  }
} finally {
  for (const s of spinning) s.kill('SIGKILL');
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = (way: Way, key: keyof Burst) => median(results[way].map((r) => r[key]));
console.log(
  `\n${perBurst} children per burst, ${spinners} spinning processes on ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)}`,
);
for (const key of ['heldMs', 'p99', 'max'] as const) {
  const direct = m('direct', key);
  const spawner = m('spawner', key);
  console.log(`${key.padEnd(6)} median: direct ${direct} ms, spawner ${spawner} ms: ratio ${(spawner / Math.max(direct, 0.1)).toFixed(2)}`);
}
process.exit(0);
