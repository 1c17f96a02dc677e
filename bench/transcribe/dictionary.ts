// The pronunciation dictionary the server holds from start-up (live captions' talk words, the
// transcript's vocabulary): heap it keeps and CPU to build it, against a baseline built in the same
// run from the same text, the way it was held before (a Map of each word's phones as an array).
// Usage: node --expose-gc --import tsx bench/transcribe/dictionary.ts [ROUNDS]   (default 5)
import { readFileSync } from 'node:fs';
import { DICTIONARY, Dictionary } from '../../src/transcription/vocabulary.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (see the usage line)');
const rounds = Number(process.argv[2] ?? 5);
const text = readFileSync(DICTIONARY, 'utf8');

/** The baseline: every word's first pronunciation as an array of phones. */
function asArrays(source: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of source.split('\n')) {
    const [word, ...phones] = line.trim().split(/\s+/);
    if (word && phones.length && !/\(\d+\)$/.test(word)) map.set(word, phones);
  }
  return map;
}

/** Heap kept by what `build` returns (after a full collection either side) and the CPU it took, in MB and ms. */
function measure(build: () => unknown): { heap: number; cpu: number } {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const kept = build();
  const cpu = process.cpuUsage(cpu0);
  gc?.();
  const heap = process.memoryUsage().heapUsed - before;
  if (!kept) throw new Error('nothing built');
  return { heap: heap / 1e6, cpu: (cpu.user + cpu.system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = { heap: [] as number[], cpu: [] as number[] };
const now = { heap: [] as number[], cpu: [] as number[] };
for (let i = 0; i < rounds; i++) {
  // Alternating, so a slow moment of a shared machine falls on both.
  for (const [into, build] of [
    [base, () => asArrays(text)],
    [now, () => new Dictionary(text)],
  ] as const) {
    const m = measure(build);
    into.heap.push(m.heap);
    into.cpu.push(m.cpu);
  }
}
const sample = new Dictionary(text);
if (sample.phones('hello')?.join(' ') !== asArrays(text).get('hello')?.join(' ')) throw new Error('the two disagree on "hello"');
const row = (name: string, m: typeof base) => `${name}: heap ${median(m.heap).toFixed(1)} MB, CPU ${median(m.cpu).toFixed(0)} ms (medians of ${rounds})`;
console.log(row('phones as arrays (baseline)', base));
console.log(row('Dictionary (phones as text)', now));
console.log(`ratio: heap ${(median(now.heap) / median(base.heap)).toFixed(2)}x, CPU ${(median(now.cpu) / median(base.cpu)).toFixed(2)}x`);
