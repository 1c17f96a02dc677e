/**
 * Randomness a failing run can replay: every random test draws from a Prng seeded by `testSeed`,
 * which prints the seed, and TEST_SEED=<that seed> runs the same draw again.
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * The seed of `what`'s random draw, printed at the start: TEST_SEED (or an older variable the test
 * also accepts, e.g. CHAOS_SEED) when set, `ci` under CI when given (one known draw there), else a
 * fresh one. TEST_SEED=random asks for a fresh one even under CI.
 */
export function testSeed(what: string, options: { also?: string; ci?: number } = {}): number {
  const asked = process.env.TEST_SEED ?? (options.also ? process.env[options.also] : undefined);
  let seed: number;
  if (asked !== undefined && asked !== 'random') {
    seed = Number(asked);
    if (!Number.isInteger(seed)) throw new Error(`TEST_SEED must be an integer (or "random"), not ${JSON.stringify(asked)}`);
  } else if (asked === undefined && process.env.CI && options.ci !== undefined) seed = options.ci;
  else seed = Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`${what}: seed ${seed} (TEST_SEED=${seed} replays it)\n`);
  return seed;
}
