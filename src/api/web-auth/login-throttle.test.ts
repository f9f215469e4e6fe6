import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginThrottle, LOGIN_BASE_DELAY_MS, LOGIN_MAX_DELAY_MS, FAILURE_MEMORY_MS } from './login-throttle.js';

function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => { t += ms; },
    slept,
    sleep: async (ms: number) => { slept.push(ms); t += ms; },
  };
}

test('each failure from a source doubles the hold-back, capped at 10 s', async () => {
  const f = fakeTime();
  const throttle = new LoginThrottle({ now: f.now, sleep: f.sleep });
  for (let i = 0; i < 8; i++) assert.equal(await throttle.attempt('10.0.0.1', async () => false), 'failed');
  assert.deepEqual(f.slept, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
  assert.equal(throttle.delayAfterFailure(1), LOGIN_BASE_DELAY_MS);
  assert.equal(throttle.delayAfterFailure(100), LOGIN_MAX_DELAY_MS);
});

test('sources are independent and a success clears the count', async () => {
  const f = fakeTime();
  const throttle = new LoginThrottle({ now: f.now, sleep: f.sleep });
  await throttle.attempt('a', async () => false);
  await throttle.attempt('a', async () => false);
  assert.equal(throttle.failures('a'), 2);
  assert.equal(throttle.failures('b'), 0);
  assert.equal(await throttle.attempt('a', async () => true), 'ok');
  assert.equal(throttle.failures('a'), 0);
});

test('a throwing check counts as a failure', async () => {
  const f = fakeTime();
  const throttle = new LoginThrottle({ now: f.now, sleep: f.sleep });
  assert.equal(await throttle.attempt('a', async () => { throw new Error('boom'); }), 'failed');
  assert.equal(throttle.failures('a'), 1);
});

test('while one attempt from a source is pending, others are refused (no parallel guessing)', async () => {
  let release: () => void = () => undefined;
  const throttle = new LoginThrottle({ sleep: () => new Promise<void>((r) => { release = r; }) });
  const first = throttle.attempt('a', async () => false);
  await new Promise((r) => setImmediate(r));
  assert.equal(await throttle.attempt('a', async () => true), 'busy');
  assert.equal(await throttle.attempt('b', async () => true), 'ok');
  release();
  assert.equal(await first, 'failed');
  assert.equal(await throttle.attempt('a', async () => true), 'ok');
});

test('failures are forgotten after a quiet period', async () => {
  const f = fakeTime();
  const throttle = new LoginThrottle({ now: f.now, sleep: f.sleep });
  await throttle.attempt('a', async () => false);
  f.advance(FAILURE_MEMORY_MS);
  assert.equal(throttle.failures('a'), 0);
});
