import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import { TokenBucket } from './token-bucket.js';

test('setRate: a sleeping take re-checks at the new rate; null lifts the limit; bad rates refused', async () => {
  let now = 0;
  const bucket = new TokenBucket(1000, 1000, () => now);
  await bucket.take(5000); // 4000 bytes of debt: 4 s at 1000 B/s
  assert.equal(bucket.delayMs(), 4000);
  const t0 = Date.now();
  const waiting = bucket.take(10);
  await new Promise((r) => setTimeout(r, 20));
  bucket.setRate(1_000_000); // the same debt now takes 4 ms
  await new Promise((r) => setTimeout(r, 10));
  now += 10; // the fake clock moves on: the debt is paid
  await waiting;
  assert.ok(Date.now() - t0 < 1000, 'woke without waiting the old 4 s');

  await bucket.take(3_000_000); // deep debt again
  assert.ok(bucket.delayMs() > 0);
  const blocked = bucket.take(1);
  bucket.setRate(null);
  await blocked;
  assert.equal(bucket.delayMs(), 0);
  bucket.consume(1e9);
  assert.equal(bucket.delayMs(), 0, 'unlimited: nothing counts');
  bucket.setRate(500, 500);
  assert.equal(bucket.delayMs(), 0, 'limited again from a full bucket');
  assert.throws(() => bucket.setRate(0), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  bucket.destroy();
});
