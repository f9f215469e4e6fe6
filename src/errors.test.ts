import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealsyncError, ERROR_CATALOG, describeError, isSealsyncError } from './errors.js';

test('errors round-trip through JSON with their code', () => {
  const err = new SealsyncError('ERR_KEY_CHECKSUM', undefined, { position: 3 });
  const back = SealsyncError.fromJSON(JSON.parse(JSON.stringify(err)));
  assert.equal(back.code, 'ERR_KEY_CHECKSUM');
  assert.equal(back.message, ERROR_CATALOG.ERR_KEY_CHECKSUM.message);
  assert.deepEqual(back.data, { position: 3 });
  assert.equal(back.status, 400);
  assert.ok(isSealsyncError(back, 'ERR_KEY_CHECKSUM'));
});

test('unknown codes become ERR_INTERNAL, descriptions are one line', () => {
  assert.equal(SealsyncError.fromJSON({ code: 'NOPE' }).code, 'ERR_INTERNAL');
  assert.equal(describeError(new Error('a\nb')), 'a');
});
