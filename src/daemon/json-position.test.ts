import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineOfOffset, lineOfPath, lineOfSyntaxError } from './json-position.js';

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
