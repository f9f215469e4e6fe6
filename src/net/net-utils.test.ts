import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from './rate-meter.js';
import { TokenBucket } from './token-bucket.js';
import { MisbehaviourBudget } from './misbehaviour-budget.js';
import { Backoff } from './backoff.js';
import { isSealsyncError } from '../errors.js';

test('rate meter: totals forever, rate over the sliding window', () => {
  let t = 10_000;
  const m = new RateMeter(() => t, 5_000);
  m.add(5000);
  t += 1000;
  m.add(5000);
  assert.equal(m.bytes, 10_000);
  assert.equal(m.rate(), 2000);
  t += 5000; // the first bucket has left the window
  assert.equal(m.rate(), 1000);
  t += 10_000;
  assert.equal(m.rate(), 0);
  assert.equal(m.bytes, 10_000);
});

test('token bucket: burst passes, debt is waited off, abort and destroy reject', async () => {
  let t = 0;
  const b = new TokenBucket(1000, 1000, () => t);
  await b.take(1000);
  b.consume(500);
  assert.equal(b.delayMs(), 500);
  t += 500;
  assert.equal(b.delayMs(), 0);
  await b.take(5000); // larger than the burst: allowed, goes into debt
  assert.equal(b.delayMs(), 5000);
  const ac = new AbortController();
  const p = b.take(1, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e) => isSealsyncError(e, 'ERR_ABORTED'));
  const q = b.take(1);
  b.destroy();
  await assert.rejects(q, (e) => isSealsyncError(e, 'ERR_CONNECTION_CLOSED'));
});

test('token bucket really waits on the real clock', async () => {
  const b = new TokenBucket(100_000, 1000);
  await b.take(1000);
  const start = Date.now();
  await b.take(5000); // no debt yet, passes
  await b.take(1); // waits ~50 ms for the 5000-byte debt
  const took = Date.now() - start;
  assert.ok(took >= 40 && took < 1000, `took ${took} ms`);
});

test('misbehaviour budget trips past the maximum and drains over time', () => {
  let t = 0;
  const b = new MisbehaviourBudget(3, 1000, () => t);
  assert.equal(b.add('x'), false);
  assert.equal(b.add('x'), false);
  assert.equal(b.add('y'), false);
  t += 2000; // two points drain
  assert.equal(b.current, 1);
  assert.equal(b.add('x', 2), false);
  assert.equal(b.add('x'), true);
  assert.deepEqual(b.tally(), { x: 4, y: 1 });
});

test('backoff doubles with jitter up to the cap and resets', () => {
  const lo = new Backoff(1000, 60_000, () => 0);
  const hi = new Backoff(1000, 60_000, () => 1);
  const los = Array.from({ length: 9 }, () => lo.next());
  const his = Array.from({ length: 9 }, () => hi.next());
  assert.deepEqual(his, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  assert.deepEqual(los, his.map((d) => d / 2));
  hi.reset();
  assert.equal(hi.next(), 1000);
  const r = new Backoff();
  for (let i = 0; i < 100; i++) {
    const d = r.next();
    assert.ok(d >= 500 && d <= 60_000);
  }
});
