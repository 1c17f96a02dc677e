import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cleanQuestion } from './questions.js';
import { REACTION_BURST, REACTION_REFILL_MS, REACTIONS_PER_BROADCAST, RoomReactions, isReaction } from './reactions.js';

describe('reactions: a fixed set, a burst then a trickle per participant, gathered per broadcast', () => {
  test('a burst is taken, the rest dropped until the bucket refills; each participant has their own', () => {
    const r = new RoomReactions();
    const taken = Array.from({ length: 20 }, () => r.add('a', '👏', 1000)).filter(Boolean).length;
    assert.equal(taken, REACTION_BURST);
    assert.equal(r.add('b', '🎉', 1000), true, 'another participant is not held back by the first');
    assert.equal(r.add('a', '👏', 1000 + REACTION_REFILL_MS - 1), false, 'not yet refilled');
    assert.equal(r.add('a', '👏', 1000 + REACTION_REFILL_MS + 1), true, 'one more after the refill time');
    const message = r.drain();
    assert.equal(message?.reactions.length, REACTION_BURST + 2);
    assert.deepEqual(message?.reactions.at(-1), { participant_id: 'a', emoji: '👏' });
    assert.equal(r.drain(), null, 'drained: nothing until the next reaction');
  });

  test('a broadcast carries at most its cap; only the set is accepted', () => {
    const r = new RoomReactions();
    for (let i = 0; i < 300; i++) r.add(`p${i}`, '❤️', 0);
    assert.equal(r.drain()?.reactions.length, REACTIONS_PER_BROADCAST);
    assert.equal(isReaction('👏'), true);
    assert.equal(isReaction('💩'), false);
    assert.equal(isReaction('<img>'), false);
    assert.equal(isReaction(undefined), false);
  });
});

describe('question text', () => {
  test('spaces and control characters fold, lone surrogates are replaced, 1 to 280 characters', () => {
    assert.equal(cleanQuestion('  How\n\tdoes   it\u0000work? '), 'How does it work?');
    assert.equal(cleanQuestion('bad \uD800 half'), 'bad \uFFFD half');
    assert.equal(cleanQuestion('   '), null);
    assert.equal(cleanQuestion(42), null);
    assert.equal(cleanQuestion('é'.repeat(280)), 'é'.repeat(280));
    assert.equal(cleanQuestion('x'.repeat(281)), null);
    assert.equal(cleanQuestion('😀'.repeat(280))?.length, 560, 'counted in characters, not UTF-16 units');
  });
});
