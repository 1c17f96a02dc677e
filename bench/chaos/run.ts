/**
 * The long chaos run: `smalltalk serve` on a Postgres cluster and a Redis of its own, webhooks
 * produced all along to a flaky receiver, and a random schedule of faults (half SIGKILLs of
 * the server mid-delivery, the rest every database connection terminated, Postgres restarted, Redis
 * restarted). Prints the seed, each fault's time back to ready, and the totals: webhooks
 * acknowledged, delivered and lost (must be 0), and answers outside 200/503 (must be 0).
 *
 *   npm run bench:chaos                        # 110 faults (about 55 SIGKILLs), a random seed
 *   npm run bench:chaos -- --faults 20 --seed 12345
 *
 * Needs the Postgres binaries (PG_BIN, default /usr/lib/postgresql/15/bin) and redis-server.
 */
import { parseArgs } from 'node:util';
import { runChaos, schedule } from '../../test/chaos/scenario.js';
import { missingBinaries } from '../../test/chaos/servers.js';

const { values } = parseArgs({ options: { faults: { type: 'string', default: '110' }, seed: { type: 'string' } } });
if (missingBinaries({ postgres: true, redis: true })) process.exit(1);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const faults = schedule(Number(values.faults), seed);
const kills = faults.filter((f) => f === 'sigkill').length;
console.log(`chaos run: seed ${seed} (--seed ${seed} replays the schedule), ${faults.length} faults, ${kills} SIGKILLs`);
const started = Date.now();
const result = await runChaos({ seed, faults, log: (line) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`) });

const byKind = new Map<string, number[]>();
for (const f of result.faults) byKind.set(f.fault, [...(byKind.get(f.fault) ?? []), f.readyMs]);
const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
console.log('\nfault               count  ready p50   ready p95   ready max');
for (const [kind, times] of byKind) {
  console.log(
    `${kind.padEnd(18)} ${String(times.length).padStart(6)} ${`${pct(times, 50)} ms`.padStart(10)} ${`${pct(times, 95)} ms`.padStart(11)} ${`${Math.max(...times)} ms`.padStart(11)}`,
  );
}
console.log(
  `\nwebhooks: ${result.acknowledged} acknowledged, ${result.delivered} delivered, ${result.lost.length} lost; requests: ${result.requests}, ${result.answered503} answered 503 (our envelope, Retry-After), ${result.bad.length} other errors`,
);
console.log(`run took ${Math.round((Date.now() - started) / 1000)} s`);
if (result.lost.length || result.bad.length) {
  console.log(`FAILED: lost ${result.lost.slice(0, 5).join(', ')}; other errors ${result.bad.slice(0, 5).join(' | ')}`);
  process.exit(1);
}
