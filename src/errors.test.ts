import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealsyncError, ERROR_CATALOG, describeError, isSealsyncError, listenFailure } from './errors.js';

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

test('a failed listen is one line; the hint comes only with a reason the user can act on', () => {
  const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
  const e = listenFailure({ subject: 'the dashboard', address: '127.0.0.1:9', hint: 'change it' }, inUse);
  assert.equal(e.code, 'ERR_LISTEN');
  assert.equal(e.message, 'the dashboard cannot listen on 127.0.0.1:9: the port is in use by another program; change it');
  assert.equal(e.cause, inUse);
  const odd = Object.assign(new Error('listen EWHATEVER'), { code: 'EWHATEVER' });
  assert.equal(listenFailure({ address: 'h:1', hint: 'change it' }, odd).message, 'cannot listen on h:1: EWHATEVER');
  assert.equal(listenFailure({ address: 'h:1', hint: 'change it' }, new Error('boom\nmore')).message, 'cannot listen on h:1: boom');
});
