import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonShapeExcess, lineOfOffset, lineOfPath, lineOfSyntaxError } from './json-position.js';

const TEXT = `{
  "a": 1,
  "b": {
    "c": [
      { "d": "x" },
      {
        "d": "y\\"z",
        "e": [1, 2, {"f": null}]
      }
    ]
  },
  "g": "h"
}`;

test('finds the line of nested values by zod-style path', () => {
  assert.equal(lineOfPath(TEXT, []), 1);
  assert.equal(lineOfPath(TEXT, ['a']), 2);
  assert.equal(lineOfPath(TEXT, ['b', 'c']), 4);
  assert.equal(lineOfPath(TEXT, ['b', 'c', 0, 'd']), 5);
  assert.equal(lineOfPath(TEXT, ['b', 'c', 1, 'd']), 7);
  assert.equal(lineOfPath(TEXT, ['b', 'c', 1, 'e', 2, 'f']), 8);
  assert.equal(lineOfPath(TEXT, ['g']), 12);
});

test('a missing path reports its deepest existing parent', () => {
  assert.equal(lineOfPath(TEXT, ['b', 'c', 1, 'missing']), 6);
  assert.equal(lineOfPath(TEXT, ['b', 'c', 5]), 4);
  assert.equal(lineOfPath(TEXT, ['nope']), 1);
});

test('syntax errors and offsets map to lines', () => {
  assert.equal(lineOfOffset('a\nb\nc', 4), 3);
  assert.equal(lineOfSyntaxError('{\n  "a": 1,\n  "b": tru\n}'), 3);
  assert.equal(lineOfSyntaxError('{\n  "a": [1,\n 2\n'), 4);
  assert.equal(lineOfSyntaxError('{"a": 1}'), 1);
});

test('garbage never throws', () => {
  for (const t of ['', '{', '[[[[', '"', '{"a":', '\u0000', '{'.repeat(10_000)]) {
    assert.equal(typeof lineOfPath(t, ['a', 0, 'b']), 'number');
    assert.equal(typeof lineOfSyntaxError(t), 'number');
  }
});

test('jsonShapeExcess counts depth, list items and values outside strings only', () => {
  const limits = { maxDepth: 3, maxArrayItems: 3, maxValues: 10 };
  assert.equal(jsonShapeExcess(TEXT, { maxDepth: 6, maxArrayItems: 3, maxValues: 100 }), null);
  assert.equal(jsonShapeExcess(TEXT, { maxDepth: 5, maxArrayItems: 3, maxValues: 100 })?.problem, 'nested deeper than 5 levels');
  assert.equal(jsonShapeExcess('{"a": [[1]]}', limits), null);
  assert.deepEqual(jsonShapeExcess('{"a": [[[1]]]}', limits), { offset: 8, problem: 'nested deeper than 3 levels' });
  assert.equal(jsonShapeExcess('[1, 2, 3]', limits), null);
  assert.deepEqual(jsonShapeExcess('[1, 2, 3, 4]', limits), { offset: 8, problem: 'a list of more than 3 items' });
  // Commas of an object do not count as list items; they are values.
  assert.equal(jsonShapeExcess('{"a":1,"b":2,"c":3,"d":4}', limits), null);
  assert.deepEqual(jsonShapeExcess(`{${Array.from({ length: 12 }, (_, i) => `"k${i}":1`).join(',')}}`, limits)?.problem, 'more than 10 values');
  // Brackets, commas and escaped quotes inside strings are text.
  assert.equal(jsonShapeExcess('["[[[[,,,,\\", "\\"[[[[,,,,"]', limits), null);
  // Unbalanced or garbage text is JSON.parse's to refuse, not this scanner's.
  assert.equal(jsonShapeExcess(']]]}}}', limits), null);
  assert.equal(jsonShapeExcess('"unterminated [[[[[', limits), null);
});
