import assert from 'node:assert/strict';
import { test } from 'node:test';
import { givenAsId } from './fuzzer.js';

// The fuzzer's cross-tenant check: another partner's id that an earlier write stored as text (a
// group named after it) is not a leak; the same id given as an id field is.
test('an id stored as a name is not given as an id; as id, *_id or *_ids it is', () => {
  const id = '90a38846-3e8c-4b10-be2c-dbeaa50f53ca';
  assert.equal(givenAsId(JSON.stringify({ groups: [{ id: 'x', name: id }], error: null }), id), false);
  assert.equal(givenAsId(JSON.stringify({ talk: { description: `see ${id}` } }), id), false);
  assert.equal(givenAsId(JSON.stringify({ groups: [{ id, name: 'n' }] }), id), true);
  assert.equal(givenAsId(JSON.stringify({ group: { talk_ids: ['a', id] } }), id), true);
  assert.equal(givenAsId(JSON.stringify({ talk: { theme_id: id } }), id), true);
  assert.equal(givenAsId(`<p>${id}</p>`, id), true, 'not JSON: counted');
});
