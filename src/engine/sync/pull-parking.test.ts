import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParkedPaths, PULL_RETRY_MAX_MS } from './pull-parking.js';

test('parked paths back off from fast to slow, keep their path and reason, and leave when cleared', async () => {
  let now = 1000;
  const due: string[][] = [];
  const p = new ParkedPaths((lhs) => due.push(lhs), () => now, 10, 80);
  p.start();
  try {
    p.park('aa', 'dir/a.txt', 'block is not available', 5);
    assert.deepEqual(p.report(), [{ path: 'dir/a.txt', reason: 'block is not available', attempts: 1, nextAttemptAt: 1010 }]);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      p.park('aa', 'dir/a.txt', 'again', 5);
      delays.push((p.report()[0]!.nextAttemptAt ?? 0) - now);
    }
    assert.deepEqual(delays, [20, 40, 80, 80, 80], 'doubling up to the cap');
    assert.equal(p.bytes(), 5);
    // A new peer: everything is due now, and nothing reports a time until parked again.
    assert.deepEqual(p.retryAllNow(), ['aa']);
    assert.equal(p.report()[0]!.nextAttemptAt, null);
    p.clear('aa');
    assert.equal(p.size, 0);
    // The timer hands due paths over once, not in a loop.
    now = Date.now();
    const q = new ParkedPaths((lhs) => due.push(lhs), () => Date.now(), 5, 5);
    q.start();
    q.park('bb', 'b', 'r', 0);
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(due, [['bb']]);
    q.stop();
  } finally {
    p.stop();
  }
  assert.ok(PULL_RETRY_MAX_MS <= 30_000, 'the slowest retry stays within half a minute');
});
