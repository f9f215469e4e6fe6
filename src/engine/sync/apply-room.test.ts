import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SealsyncError } from '../../errors.js';
import { isNoSpace, retryAfterMakingRoom } from './apply-room.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

test('a full disk or quota is recognised, also as a cause; other errors are not', () => {
  assert.ok(isNoSpace(errno('ENOSPC')));
  assert.ok(isNoSpace(errno('EDQUOT')));
  assert.ok(isNoSpace(new SealsyncError('ERR_INTERNAL', 'wrapped', undefined, { cause: errno('ENOSPC') })));
  for (const other of [errno('EACCES'), errno('EIO'), new Error('ENOSPC in a message only'), null, undefined, 'ENOSPC', { code: 28 }]) {
    assert.equal(isNoSpace(other), false, String(other));
  }
});

test('a write that fails for space is tried once more after room was made, never twice', async () => {
  let calls = 0;
  let rooms = 0;
  const ok = await retryAfterMakingRoom(async () => { if (++calls === 1) throw errno('ENOSPC'); return 'written'; }, async () => { rooms++; return true; });
  assert.deepEqual([ok, calls, rooms], ['written', 2, 1]);

  calls = 0;
  await assert.rejects(retryAfterMakingRoom(async () => { calls++; throw errno('ENOSPC'); }, async () => true), /ENOSPC/);
  assert.equal(calls, 2, 'still full after pruning: the second error is the caller\'s');

  calls = 0;
  await assert.rejects(retryAfterMakingRoom(async () => { calls++; throw errno('ENOSPC'); }, async () => false), /ENOSPC/);
  assert.equal(calls, 1, 'no room made: no retry');

  calls = 0;
  rooms = 0;
  await assert.rejects(retryAfterMakingRoom(async () => { calls++; throw errno('EACCES'); }, async () => { rooms++; return true; }), /EACCES/);
  assert.deepEqual([calls, rooms], [1, 0], 'other errors neither prune nor retry');

  await assert.rejects(retryAfterMakingRoom(async () => { throw errno('ENOSPC'); }, undefined), /ENOSPC/);
});
