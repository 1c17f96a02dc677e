import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSeed } from '../support/seed.js';
import { runChaos } from './scenario.js';
import { missingBinaries } from './servers.js';
import { settledOnce } from './talk.js';

// The short chaos run: one of each fault while webhooks are delivered and a talk is live, a host bot
// speaking and the server recording it (the long one, with 50+ SIGKILLs, is bench/chaos/run.ts).
// Random moments; the seed is printed to replay them.
const skip = missingBinaries({ postgres: true, redis: true });

test('chaos: SIGKILL mid-talk and mid-delivery, connections terminated, Postgres and Redis restarted: ready again each time, no webhook lost', {
  skip,
  timeout: 600_000,
}, async () => {
  const seed = testSeed('chaos', { also: 'CHAOS_SEED' });
  const result = await runChaos({
    seed,
    faults: ['terminate', 'sigkill', 'postgres-restart', 'redis-restart'],
    log: (line) => process.stderr.write(`# ${new Date().toISOString().slice(11, 23)} ${line}\n`),
  });
  process.stderr.write(
    `# ${result.faults.map((f) => `${f.fault} ${f.readyMs} ms`).join(', ')}; ${result.acknowledged} acknowledged, ${result.delivered} delivered, ${result.answered503} answered 503, ${result.requests} requests (loaded machine)\n`,
  );
  assert.deepEqual(result.bad, [], 'no 5xx other than our 503');
  assert.deepEqual(result.lost, [], 'no acknowledged webhook lost');
  assert.ok(result.acknowledged >= 10, `${result.acknowledged} events produced`);
  // The recording the SIGKILL cut: finalized after the restart, playable, as long as the talk up to the kill.
  assert.equal(result.interrupted.length, 1, 'one recording cut by the SIGKILL');
  for (const rec of result.interrupted) {
    if (rec.status === 'failed') {
      process.stderr.write(`# cut recording: ${rec.untilKillS.toFixed(1)} s to the kill, before its capture wrote any audio: failed, "${rec.failureReason}"\n`);
      continue;
    }
    process.stderr.write(
      `# cut recording: ${rec.untilKillS.toFixed(1)} s to the kill, bot spoke ${rec.spokeS.toFixed(1)} s; mix ${rec.mixS.toFixed(1)} s, tracks ${rec.trackS.map((d) => d.toFixed(1)).join(', ')} s (last ends ${rec.trackEndS.toFixed(1)} s in, its start ${rec.startLagS.toFixed(1)} s after the voice came); saved ${rec.savedAfterReadyMs} ms after ready\n`,
    );
    assert.deepEqual(rec.problems, [], `recording ${rec.id}`);
  }
  // The bot back in the talk within seconds of the server's return (it was ~35 s while the restarted
  // server waited for its old claim on the room to go stale).
  assert.equal(result.botBackMs.length, 1);
  for (const ms of result.botBackMs) assert.ok(ms !== null && ms <= 10_000, `the bot back with media ${ms} ms after the server was ready`);
  // The cut one and the one after the restart (ended with the talk), each announced exactly once.
  assert.ok(result.saved.length >= 2, `${result.saved.length} recordings`);
  // (One the kill cut before its capture wrote any audio is failed with that reason, never announced.)
  for (const rec of result.saved) assert.ok(settledOnce(rec), `recording ${rec.id}: ${rec.status} (${rec.failureReason}), recording_saved ×${rec.events}`);
  for (const f of result.faults.filter((f) => f.fault !== 'sigkill')) assert.ok(f.readyMs < 30_000, `${f.fault}: ready after ${f.readyMs} ms`);
});
