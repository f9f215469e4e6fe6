import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../../errors.js';
import { collectGarbage, DAY_MS } from './replica-gc.js';
import { DEFAULT_RETENTION_DAYS } from '../../model/retention.js';
import { fakeBlock, tempStore } from '../../store/testing/store-helpers.js';

const T0 = Date.UTC(2026, 0, 1);

test('unreferenced blocks are kept for the retention period, then deleted; referenced ones stay', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const keep = fakeBlock(100);
    const drop = fakeBlock(200);
    await store.put(keep.id, keep.data);
    await store.put(drop.id, drop.data);
    const referenced = new Set([keep.hex]);

    const first = await collectGarbage({ store, referenced, retentionDays: DEFAULT_RETENTION_DAYS, nowMs: T0 });
    assert.equal(first.retired, 1);
    assert.equal(first.deleted, 0);
    assert.equal(first.liveBlocks, 1);
    assert.equal(first.liveBytes, 100);
    assert.equal(first.retainedBytes, 200);
    assert.equal(await store.has(drop.id), false);
    assert.notEqual(await store.get(drop.id), null, 'retained block is still there');

    // one day before the retention ends: still kept
    const early = await collectGarbage({ store, referenced, retentionDays: 30, nowMs: T0 + 29 * DAY_MS });
    assert.equal(early.deleted, 0);
    assert.equal(early.retainedBlocks, 1);

    const late = await collectGarbage({ store, referenced, retentionDays: 30, nowMs: T0 + 30 * DAY_MS });
    assert.equal(late.deleted, 1);
    assert.equal(late.deletedBytes, 200);
    assert.equal(late.retainedBlocks, 0);
    assert.equal(await store.get(drop.id), null);
    assert.equal(await store.has(keep.id), true);
  } finally {
    await cleanup();
  }
});

test('a retained block that is referenced again is revived, not deleted', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    await store.put(b.id, b.data);
    await collectGarbage({ store, referenced: new Set(), retentionDays: 30, nowMs: T0 });
    assert.equal(await store.has(b.id), false);
    const r = await collectGarbage({ store, referenced: new Set([b.hex]), retentionDays: 30, nowMs: T0 + 40 * DAY_MS });
    assert.equal(r.revived, 1);
    assert.equal(r.deleted, 0);
    assert.equal(await store.has(b.id), true);
  } finally {
    await cleanup();
  }
});

test('retention 0 drops every unreferenced block now, live or retained', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const a = fakeBlock(10);
    const b = fakeBlock(20);
    const c = fakeBlock(40);
    for (const x of [a, b, c]) await store.put(x.id, x.data);
    await store.retire(a.hex, T0);
    const r = await collectGarbage({ store, referenced: new Set([c.hex]), retentionDays: 0, nowMs: T0 });
    assert.equal(r.deleted, 2);
    assert.equal(r.deletedBytes, 30);
    assert.deepEqual(await store.totals('retained'), { blocks: 0, bytes: 0 });
    assert.deepEqual(await store.totals('live'), { blocks: 1, bytes: 40 });
  } finally {
    await cleanup();
  }
});

test('retention days are validated', async () => {
  const { store, cleanup } = await tempStore();
  try {
    for (const bad of [-1, 1.5, 100_000, Number.NaN]) {
      await assert.rejects(
        collectGarbage({ store, referenced: new Set(), retentionDays: bad, nowMs: T0 }),
        (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'),
      );
    }
  } finally {
    await cleanup();
  }
});
