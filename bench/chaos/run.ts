/**
 * The long chaos run: `smalltalk serve` on a Postgres cluster and a Redis of its own, webhooks
 * produced all along to a flaky receiver, a live talk all along (a host bot speaking, the server
 * recording it), and a schedule of faults: SIGKILLs of the server mid-talk and mid-delivery, every
 * database connection terminated, Postgres restarted, Redis restarted. Prints the seed, each fault's
 * time back to ready, each cut recording's check (finalized after the restart, mix and tracks decode
 * to the end and reach the kill to within 2 s), and the totals: webhooks acknowledged, delivered and
 * lost (must be 0), recording_saved per recording (must be exactly 1; none for one a kill cut before any audio was on disk, which must be failed with that reason), answers outside 200/503
 * (must be 0).
 *
 *   npm run bench:chaos                          # 110 random faults (about 55 SIGKILLs), a random seed
 *   npm run bench:chaos -- --faults 20 --seed 12345
 *   npm run bench:chaos -- --kills 50 --every 5  # 50 SIGKILLs, another fault after every 5th
 *
 * The server is the compiled one (`node bin/smalltalk.js serve`, as `npm start`) when dist/ exists
 * (`npm run build`; rebuild after changing src/), else the sources through tsx (`--tsx` forces it).
 * Needs the Postgres binaries (PG_BIN, default /usr/lib/postgresql/15/bin) and redis-server.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killSchedule, runChaos, schedule } from '../../test/chaos/scenario.js';
import { missingBinaries } from '../../test/chaos/servers.js';
import { settledOnce } from '../../test/chaos/talk.js';

const { values } = parseArgs({
  options: {
    faults: { type: 'string', default: '110' },
    kills: { type: 'string' },
    every: { type: 'string', default: '5' },
    seed: { type: 'string' },
    tsx: { type: 'boolean', default: false },
  },
});
if (missingBinaries({ postgres: true, redis: true })) process.exit(1);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const faults = values.kills ? killSchedule(Number(values.kills), Number(values.every), seed) : schedule(Number(values.faults), seed);
const compiled = !values.tsx && existsSync(path.join(import.meta.dirname, '..', '..', 'dist', 'cli.js'));
const kills = faults.filter((f) => f === 'sigkill').length;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(
  `chaos run: seed ${seed} (--seed ${seed} replays the schedule), ${faults.length} faults, ${kills} SIGKILLs mid-talk; server ${compiled ? 'compiled (dist/)' : 'sources through tsx'}; load average ${load()}`,
);
const started = Date.now();
const result = await runChaos({
  seed,
  faults,
  compiled,
  log: (line) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}${/ready after/.test(line) ? ` [load ${load()}]` : ''}`),
});

const pct = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];
const byKind = new Map<string, number[]>();
for (const f of result.faults) byKind.set(f.fault, [...(byKind.get(f.fault) ?? []), f.readyMs]);
console.log('\nfault               count  ready p50   ready p95   ready max');
for (const [kind, times] of byKind) {
  console.log(
    `${kind.padEnd(18)} ${String(times.length).padStart(6)} ${`${pct(times, 50)} ms`.padStart(10)} ${`${pct(times, 95)} ms`.padStart(11)} ${`${Math.max(...times)} ms`.padStart(11)}`,
  );
}
// Cut before the capture had written any audio: failed with that reason (checked in talk.ts), no track to measure.
const failedCut = result.interrupted.filter((r) => r.status === 'failed' && r.problems.length === 0);
const cut = result.interrupted.filter((r) => !failedCut.includes(r));
const gaps = cut.map((r) => Math.abs(r.trackEndS - r.untilKillS));
const lags = cut.map((r) => r.startLagS);
const saved = cut.map((r) => r.savedAfterReadyMs);
const bad = cut.filter((r) => r.problems.length > 0);
if (cut.length) {
  console.log(
    `\nrecordings cut by a SIGKILL: ${cut.length} saved and checked, ${failedCut.length} failed as cut before any audio was on disk, ${bad.length} with problems (${cut.filter((r) => r.bytesAtKill === 0).length} cut before their capture had written a byte); last track's end vs the kill: p50 ${pct(gaps, 50).toFixed(2)} s, p95 ${pct(gaps, 95).toFixed(2)} s, max ${Math.max(...gaps).toFixed(2)} s; ` +
      `track start after the bot's voice: p50 ${pct(lags, 50).toFixed(1)} s, max ${Math.max(...lags).toFixed(1)} s; finalized after ready: p50 ${pct(saved, 50)} ms, max ${Math.max(...saved)} ms`,
  );
}
const back = result.botBackMs.filter((ms): ms is number => ms !== null);
if (result.botBackMs.length) {
  console.log(
    `the bot back in the talk with media after each SIGKILL, from the server ready: ${back.length} of ${result.botBackMs.length} within 60 s; p50 ${pct(back, 50)} ms, p95 ${pct(back, 95)} ms, max ${Math.max(...back)} ms`,
  );
}
const notOnce = result.saved.filter((r) => !settledOnce(r));
console.log(
  `recordings of the talk: ${result.saved.length}, ${result.saved.length - notOnce.length} ready with recording_saved exactly once (or failed with nothing to save, never announced)${notOnce.length ? `; NOT: ${notOnce.map((r) => `${r.id} ${r.status} ×${r.events}`).join(', ')}` : ''}; bots replaced after giving up: ${result.botsReplaced}`,
);
console.log(
  `webhooks: ${result.acknowledged} acknowledged, ${result.delivered} delivered, ${result.lost.length} lost; requests: ${result.requests}, ${result.answered503} answered 503 (our envelope, Retry-After), ${result.bad.length} other errors`,
);
console.log(`run took ${Math.round((Date.now() - started) / 1000)} s; load average at the end ${load()}`);
if (result.lost.length || result.bad.length || bad.length || notOnce.length) {
  console.log(
    `FAILED: lost ${result.lost.slice(0, 5).join(', ')}; other errors ${result.bad.slice(0, 5).join(' | ')}; recordings ${bad
      .slice(0, 5)
      .map((r) => `${r.id}: ${r.problems.join('; ')}`)
      .join(' | ')}`,
  );
  process.exit(1);
}
