import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Wakeups } from './wakeups.js';

/** Whether `p` has settled once the pending callbacks ran. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

/** A started Wakeups on Node's mock clock (setTimeout and Date move only with `tick`). */
function mocked(t: TestContext) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const wakeups = new Wakeups(50);
  wakeups.start();
  return { wakeups, tick: (ms: number) => t.mock.timers.tick(ms) };
}

test('idle polls back off from pollMs, doubling to once a second; work starts them over', async (t) => {
  const { wakeups, tick } = mocked(t);
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const sleep = wakeups.idle();
    let waited = 0;
    while (!(await settled(sleep))) {
      tick(10);
      waited += 10;
    }
    waits.push(waited);
  }
  assert.deepEqual(waits, [50, 100, 200, 400, 800, 1000, 1000]);
  wakeups.busy();
  const sleep = wakeups.idle();
  tick(50);
  assert.ok(await settled(sleep));
});

test('a nudge wakes a sleeping loop within a few ms, and one that came while it was busy skips its next sleep', async (t) => {
  const { wakeups, tick } = mocked(t);
  const sleep = wakeups.sleep(60_000);
  wakeups.nudge();
  tick(2);
  assert.equal(await settled(sleep), false);
  tick(1);
  assert.equal(await settled(sleep), true);
  wakeups.nudge();
  assert.equal(await settled(wakeups.sleep(60_000)), true, 'the nudge that came while it was busy');
  assert.equal(await settled(wakeups.sleep(60_000)), false, 'only once');
});

test('a job queued for later wakes the loop when it falls due', async (t) => {
  const { wakeups, tick } = mocked(t);
  wakeups.wakeAt(new Date(3000));
  const sleep = wakeups.sleep(60_000);
  tick(2999);
  assert.equal(await settled(sleep), false);
  tick(1);
  tick(3);
  assert.equal(await settled(sleep), true);
});

test('stop wakes the loop and silences later nudges and due times', async (t) => {
  const { wakeups, tick } = mocked(t);
  wakeups.wakeAt(new Date(1000));
  const sleep = wakeups.sleep(60_000);
  wakeups.stop();
  assert.equal(await settled(sleep), true);
  wakeups.nudge();
  wakeups.wakeAt(new Date(2000));
  const after = wakeups.sleep(60_000);
  tick(5000);
  assert.equal(await settled(after), false);
});
