import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSealsyncError } from '../../errors.js';
import { blockIdFromHex, blockIdToHex } from './block-store.js';
import { fakeBlock, tempStore } from './test-helpers.js';

test('put stores a verified block under ab/cd/<id>, mode 0600, and get returns it', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock(4096);
    assert.equal(await store.put(b.id, b.data), 'stored');
    const path = join(root, 'blocks', b.hex.slice(0, 2), b.hex.slice(2, 4), b.hex);
    assert.deepEqual(new Uint8Array(await readFile(path)), b.data);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await store.has(b.id), true);
    assert.deepEqual(await store.get(b.id), b.data);
    // no temp files left behind
    const dir = await readdir(join(root, 'blocks', b.hex.slice(0, 2), b.hex.slice(2, 4)));
    assert.deepEqual(dir, [b.hex]);
  } finally {
    await cleanup();
  }
});

test('put rejects a block whose ciphertext does not match its id and writes nothing', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    const other = fakeBlock();
    await assert.rejects(store.put(b.id, other.data), (e) => isSealsyncError(e, 'ERR_BLOCK_ID'));
    assert.equal(await store.has(b.id), false);
    assert.deepEqual(await store.totals('live'), { blocks: 0, bytes: 0 });
  } finally {
    await cleanup();
  }
});

test('the same block twice is stored once (dedup)', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock(10_000);
    assert.equal(await store.put(b.id, b.data), 'stored');
    assert.equal(await store.put(b.id, b.data), 'duplicate');
    assert.deepEqual(await store.totals('live'), { blocks: 1, bytes: 10_000 });
  } finally {
    await cleanup();
  }
});

test('retire stamps the block and moves it aside; put or revive brings it back', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    await store.put(b.id, b.data);
    const when = Date.UTC(2020, 0, 1);
    assert.equal(await store.retire(b.hex, when), true);
    assert.equal(await store.has(b.id), false);
    const retained = [];
    for await (const r of store.list('retained')) retained.push(r);
    assert.equal(retained.length, 1);
    assert.equal(retained[0]?.id, b.hex);
    assert.equal(Math.round(retained[0]?.mtimeMs ?? 0), when);
    // still servable while retained
    assert.deepEqual(await store.get(b.id), b.data);
    assert.equal(await store.put(b.id, b.data), 'revived');
    assert.equal(await store.has(b.id), true);
    assert.equal(await store.revive(b.hex), false);
  } finally {
    await cleanup();
  }
});

test('get quarantines a block that no longer matches its id', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    await store.put(b.id, b.data);
    const path = store.pathOf(b.hex);
    const bytes = await readFile(path);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    assert.equal(await store.get(b.id), null);
    assert.equal(await store.has(b.id), false);
    const q = await readdir(join(root, 'quarantine'));
    assert.equal(q.length, 1);
    assert.ok(q[0]?.startsWith(b.hex));
  } finally {
    await cleanup();
  }
});

test('ids are validated before they become paths', async () => {
  const { store, cleanup } = await tempStore();
  try {
    assert.throws(() => store.pathOf('../../etc/passwd'), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    assert.throws(() => store.pathOf('A'.repeat(64)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    await assert.rejects(store.put(new Uint8Array(31), new Uint8Array(1)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    const b = fakeBlock(8);
    assert.deepEqual(blockIdFromHex(blockIdToHex(b.id)), b.id);
  } finally {
    await cleanup();
  }
});

test('list skips stray files and removeStaleTemps clears crash leftovers', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    await store.put(b.id, b.data);
    const dir = join(root, 'blocks', b.hex.slice(0, 2), b.hex.slice(2, 4));
    await writeFile(join(dir, '.tmp-deadbeef'), 'partial');
    await writeFile(join(dir, 'notes.txt'), 'x');
    const ids = [];
    for await (const r of store.list('live')) ids.push(r.id);
    assert.deepEqual(ids, [b.hex]);
    assert.equal(await store.removeStaleTemps(), 1);
    assert.deepEqual((await readdir(dir)).sort(), [b.hex, 'notes.txt']);
  } finally {
    await cleanup();
  }
});

test('an aborted put writes nothing', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(store.put(b.id, b.data, { signal: ac.signal }));
    assert.equal(await store.has(b.id), false);
  } finally {
    await cleanup();
  }
});
