import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenRows } from './seen-rows.js';

test('SeenRows answers exactly for every rowid up to its limit, across pages', () => {
  const limit = 300_000;
  const seen = new SeenRows(limit);
  const marked = new Set<number>();
  // every third rowid, plus both edges of every page boundary
  for (let r = 1; r <= limit; r += 3) marked.add(r);
  for (let p = 1; p * 65_536 <= limit; p++) marked.add(p * 65_536 - 1).add(p * 65_536);
  marked.add(limit);
  for (const r of marked) seen.add(r);
  for (const r of marked) seen.add(r); // adding again changes nothing
  assert.equal(seen.size, marked.size);
  for (let r = 0; r <= limit + 2; r++) assert.equal(seen.has(r), marked.has(r), `rowid ${r}`);
});

test('rows above the limit, zero, negative or fractional ids are never kept', () => {
  const seen = new SeenRows(10);
  for (const r of [0, -1, 11, 1e15, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) seen.add(r);
  assert.equal(seen.size, 0);
  assert.equal(seen.bytes, 0);
  for (const r of [0, -1, 11, 2.5]) assert.equal(seen.has(r), false);
  assert.equal(new SeenRows(0).has(1), false);
});

test('memory follows the rows marked, not the limit', () => {
  const seen = new SeenRows(Number.MAX_SAFE_INTEGER);
  seen.add(5);
  seen.add(2 ** 40);
  assert.equal(seen.bytes, 2 * 8192);
  assert.equal(seen.has(2 ** 40), true);
  assert.equal(seen.has(2 ** 40 + 1), false);
  // a million rows in order: 16 pages of 8 KiB, against 16 MiB for a hash per path
  const big = new SeenRows(1_000_000);
  for (let r = 1; r <= 1_000_000; r++) big.add(r);
  assert.ok(big.bytes <= 128 * 1024, `${big.bytes} bytes`);
});

test('a bad limit is refused', () => {
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => new SeenRows(bad), { code: 'ERR_INVALID_ARGUMENT' });
});
