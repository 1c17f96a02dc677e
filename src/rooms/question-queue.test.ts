import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANSWERED_SHOWN, QuestionQueue } from './question-queue.js';

test('the queue sent to everyone: all waiting and on stage, only the latest answered, in the order asked', () => {
  const queue = new QuestionQueue();
  const ask = (i: number, status: 'open' | 'on_stage' | 'answered') =>
    queue.put({ id: `q${i}`, participant_id: null, name: 'A', text: `Question ${i}`, status, asked_at: new Date(i).toISOString() });
  for (let i = 0; i < 30; i++) ask(i, 'answered');
  ask(30, 'on_stage');
  ask(31, 'open');
  const view = queue.view();
  assert.equal(view.length, ANSWERED_SHOWN + 2);
  assert.equal(view[0].id, `q${30 - ANSWERED_SHOWN}`, 'the oldest answered ones are left out');
  assert.deepEqual(
    view.slice(-2).map((q) => q.status),
    ['on_stage', 'open'],
  );
  assert.equal(queue.onStage()?.id, 'q30');
  assert.equal(queue.size, 32, 'the room still holds them all');
});
