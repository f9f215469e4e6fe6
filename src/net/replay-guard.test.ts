import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ReplayGuard } from './replay-guard.js';

const rec = (n: number) => new Uint8Array(randomBytes(n));

test('duplicates within an update and across updates of a session are replays; folders and rejoins are apart', () => {
  const g = new ReplayGuard();
  const a = rec(200);
  const b = rec(200);
  const first = g.filter('f1', [a, a, b, a]);
  assert.deepEqual(first.fresh, [a, b]);
  assert.equal(first.replayed, 2);
  const second = g.filter('f1', [b, rec(10)]);
  assert.equal(second.replayed, 1);
  assert.equal(second.fresh.length, 1);
  assert.equal(g.filter('f2', [a]).replayed, 0, 'another folder');
  // The same bytes at another offset of another buffer are the same record.
  const copy = new Uint8Array(Buffer.concat([Buffer.alloc(7), Buffer.from(a)])).subarray(7);
  assert.equal(g.filter('f1', [copy]).replayed, 1);
  g.forget('f1');
  assert.equal(g.filter('f1', [a]).replayed, 0, 'a rejoined folder starts afresh');
});

test('memory is bounded: the oldest fingerprints are forgotten first', () => {
  const g = new ReplayGuard(100);
  const all = Array.from({ length: 150 }, () => rec(32));
  assert.equal(g.filter('f', all).replayed, 0);
  assert.equal(g.filter('f', all.slice(100)).replayed, 50, 'the newest are remembered');
  assert.equal(g.filter('f', all.slice(0, 10)).replayed, 0, 'the oldest were forgotten');
});
