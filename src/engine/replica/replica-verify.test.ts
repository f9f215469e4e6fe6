import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyStore } from './replica-verify.js';
import type { BlockLocation } from '../../store/block-store.js';
import { fakeBlock, flipStoredByte, tempStore } from '../../store/testing/store-helpers.js';

test('a flipped byte on disk is detected, quarantined and reported by id; missing blocks are reported', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const good = fakeBlock(5000);
    const bad = fakeBlock(5000);
    const gone = fakeBlock(10);
    const old = fakeBlock(300);
    for (const b of [good, bad, old]) await store.put(b.id, b.data);
    await store.retire(old.hex, Date.now());

    flipStoredByte(store.locate(bad.hex) as BlockLocation, 1234, 0x01);

    const report = await verifyStore({ store, referenced: new Set([good.hex, bad.hex, gone.hex]) });
    assert.equal(report.checkedBlocks, 3);
    assert.equal(report.checkedBytes, 10_300);
    assert.equal(report.corruptCount, 1);
    assert.deepEqual(report.corrupt, [bad.hex]);
    assert.equal(report.missingCount, 2);
    assert.deepEqual([...report.missing].sort(), [bad.hex, gone.hex].sort());
    assert.equal(await store.has(bad.id), false);
    const q = await readdir(join(root, 'quarantine'));
    assert.equal(q.length, 1);

    // a second pass is clean except for what is still missing
    const again = await verifyStore({ store, referenced: new Set([good.hex]) });
    assert.equal(again.corruptCount, 0);
    assert.equal(again.missingCount, 0);
    assert.equal(again.checkedBlocks, 2);
  } finally {
    await cleanup();
  }
});

test('a clean store verifies clean', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const blocks = Array.from({ length: 20 }, () => fakeBlock(256));
    for (const b of blocks) await store.put(b.id, b.data);
    let progress = 0;
    const report = await verifyStore({ store, referenced: new Set(blocks.map((b) => b.hex)), onProgress: (n) => { progress = n; } });
    assert.equal(report.checkedBlocks, 20);
    assert.equal(report.corruptCount, 0);
    assert.equal(report.missingCount, 0);
    assert.equal(progress, 20);
  } finally {
    await cleanup();
  }
});
