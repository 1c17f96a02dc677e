import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captionOf, inSeqOrder, insertBySeq, laneOf } from './caption-order.js';
import type { DeliveryRow } from './delivery-log.js';

function delivery(id: string, eventName: string, body: Record<string, unknown>, endpointId = 'e1'): DeliveryRow {
  return {
    id,
    partner_id: 'p',
    endpoint_id: endpointId,
    event_id: `event-${id}`,
    event_name: eventName,
    status: 'pending',
    generation: 0,
    cycle_attempts: 0,
    url: 'https://example.test/hook',
    enabled: true,
    secrets: [],
    failing_since: null,
    payload: JSON.stringify({ event_name: eventName, body }),
  };
}

test('a next_caption has a lane per endpoint and talk; other events have none', () => {
  const caption = delivery('1', 'next_caption', { talkId: 't1', seq: 7 });
  assert.deepEqual(captionOf(caption), { talkId: 't1', seq: 7 });
  assert.equal(laneOf(caption), 'e1 t1');
  assert.notEqual(laneOf(delivery('2', 'next_caption', { talkId: 't1', seq: 8 }, 'e2')), laneOf(caption));
  assert.equal(laneOf(delivery('3', 'talk_join', { talk_id: 't1' })), null);
  assert.equal(captionOf({ ...caption, payload: 'not json' }), null);
});

test('fetched jobs launch other events first, then captions in seq order; waiting captions stay in seq order', () => {
  const rows = [
    delivery('c3', 'next_caption', { talkId: 't', seq: 3 }),
    delivery('j', 'talk_join', {}),
    delivery('c1', 'next_caption', { talkId: 't', seq: 1 }),
    delivery('c2', 'next_caption', { talkId: 't', seq: 2 }),
  ];
  assert.deepEqual(
    inSeqOrder(rows, (r) => r).map((r) => r.id),
    ['j', 'c1', 'c2', 'c3'],
  );
  const waiting: { row: DeliveryRow }[] = [];
  for (const row of [rows[0], rows[3], rows[2]]) insertBySeq(waiting, { row });
  assert.deepEqual(
    waiting.map((w) => w.row.id),
    ['c1', 'c2', 'c3'],
  );
});
