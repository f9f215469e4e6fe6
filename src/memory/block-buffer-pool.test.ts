import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POOLED_MAX_BYTES, POOL_MAX_FREE_BYTES, acquireBlockBuffer, pooledFreeBytes, releaseBlockBuffer, trimBlockBuffers } from './block-buffer-pool.js';

test('a released buffer is handed out again; a second release and foreign buffers are ignored', () => {
  trimBlockBuffers();
  const a = acquireBlockBuffer(100_000);
  assert.equal(a.byteLength, 100_000);
  releaseBlockBuffer(a.subarray(7)); // any view of it will do
  const free = pooledFreeBytes();
  assert.ok(free >= 100_000);
  releaseBlockBuffer(a); // twice: ignored
  assert.equal(pooledFreeBytes(), free);
  releaseBlockBuffer(Buffer.alloc(100_000)); // not from the pool: ignored
  assert.equal(pooledFreeBytes(), free);
  const b = acquireBlockBuffer(90_000); // fits the same capacity
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.byteLength, 90_000);
  assert.equal(pooledFreeBytes(), 0);
  const c = acquireBlockBuffer(90_000); // the pooled one is leased: a new buffer
  assert.notEqual(c.buffer, b.buffer);
  trimBlockBuffers();
});

test('buffers are never shared while leased, and the free list is bounded', () => {
  trimBlockBuffers();
  const leased = Array.from({ length: 40 }, () => acquireBlockBuffer(512 * 1024));
  assert.equal(new Set(leased.map((b) => b.buffer)).size, leased.length);
  for (const b of leased) releaseBlockBuffer(b);
  assert.ok(pooledFreeBytes() <= POOL_MAX_FREE_BYTES);
  trimBlockBuffers();
  assert.equal(pooledFreeBytes(), 0);
});

test('large and empty sizes are plain allocations', () => {
  trimBlockBuffers();
  const big = acquireBlockBuffer(POOLED_MAX_BYTES + 1);
  assert.equal(big.byteLength, POOLED_MAX_BYTES + 1);
  releaseBlockBuffer(big);
  assert.equal(pooledFreeBytes(), 0);
  assert.equal(acquireBlockBuffer(0).byteLength, 0);
});
