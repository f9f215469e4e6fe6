import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSealsyncError } from '../../errors.js';
import { BlockStore, STORE_SYNC_WRITE_MAX_BYTES, blockIdFromHex, blockIdToHex } from './block-store.js';
import { fakeBlock, fsyncGate, sha256Verifier, tempStore } from './test-helpers.js';

test('put stores a verified block under ab/<id>, mode 0600, and get returns it', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock(4096);
    assert.equal(await store.put(b.id, b.data), 'stored');
    const path = join(root, 'blocks', b.hex.slice(0, 2), b.hex);
    assert.deepEqual(new Uint8Array(await readFile(path)), b.data);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await store.has(b.id), true);
    assert.deepEqual(await store.get(b.id), b.data);
    // no temp files left behind
    const dir = await readdir(join(root, 'blocks', b.hex.slice(0, 2)));
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

test('a block retained by an earlier instance is revived by a put after reopening; an empty retained area is not searched', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const kept = fakeBlock();
    const fresh = fakeBlock();
    await store.put(kept.id, kept.data);
    // Nothing retained yet: a reopened store stores new blocks without looking there.
    const empty = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal(await empty.revive(fresh.hex), false);
    assert.equal(await empty.put(fresh.id, fresh.data), 'stored');
    await empty.close();
    assert.equal(await store.retire(kept.hex, Date.UTC(2020, 0, 1)), true);
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal(await reopened.put(kept.id, kept.data), 'revived');
    assert.equal(await reopened.has(kept.id), true);
    assert.deepEqual(await reopened.totals('retained'), { blocks: 0, bytes: 0 });
    // A retire on this instance makes its revives look again.
    assert.equal(await reopened.retire(fresh.hex, Date.UTC(2020, 0, 2)), true);
    assert.equal(await reopened.revive(fresh.hex), true);
    await reopened.close();
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
    const dir = join(root, 'blocks', b.hex.slice(0, 2));
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

test('a block is not claimed until its batch is fsynced; a crash before that leaves only a temp file, removed on open', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const gate = fsyncGate();
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, syncFd: gate.syncFd });
    const blocks = [fakeBlock(5000), fakeBlock(6000), fakeBlock(7000)];
    const puts = blocks.map((b) => store.put(b.id, b.data));
    await waitUntil(() => gate.calls === blocks.length);
    // Written, not yet durable: nothing claims the blocks.
    assert.equal(store.uncommittedCount(), 3);
    for (const b of blocks) {
      assert.equal(await store.has(b.id), false);
      assert.equal(await store.get(b.id), null);
    }
    assert.deepEqual(await store.totals('live'), { blocks: 0, bytes: 0 });
    // A second put of a block in the open batch waits for that batch (no second copy).
    const again = store.put(blocks[0]!.id, blocks[0]!.data);
    // "kill -9" now: the next start sees temp files only, and removes them.
    const restarted = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    // The three written blocks, plus the first instance's spare (empty) temp files.
    assert.ok((await restarted.removeStaleTemps()) >= 3);
    assert.deepEqual(await restarted.totals('live'), { blocks: 0, bytes: 0 });
    // (The first instance, still running here, finds its temp files gone: its puts fail, nothing is claimed.)
    gate.release();
    for (const p of [...puts, again]) await assert.rejects(p);
    assert.deepEqual(await restarted.totals('live'), { blocks: 0, bytes: 0 });
    assert.equal(store.uncommittedCount(), 0);
    await store.close();
    await restarted.removeStaleTemps();
    assert.deepEqual(await readdir(join(root, 'blocks')), []);
  } finally {
    await cleanup();
  }
});

test('onWritten fires once the block is in its temp file, before the commit; the block is claimed only when put resolves', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const gate = fsyncGate();
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, syncFd: gate.syncFd });
    const b = fakeBlock(5000);
    let written = 0;
    let settled = false;
    const put = store.put(b.id, b.data, { onWritten: () => written++ }).finally(() => {
      settled = true;
    });
    await waitUntil(() => written === 1);
    // Written, waiting for the fsync: not held, not served, put still pending.
    assert.equal(settled, false);
    assert.equal(store.uncommittedCount(), 1);
    assert.equal(await store.has(b.id), false);
    // A duplicate waits for the same commit and is not reported as written.
    const again = store.put(b.id, b.data, { onWritten: () => written++ });
    gate.release();
    assert.equal(await put, 'stored');
    assert.equal(await again, 'duplicate');
    assert.equal(written, 1);
    assert.equal(await store.has(b.id), true);
    await store.close();
  } finally {
    await cleanup();
  }
});

test('blocks of one batch are committed together: fsynced, renamed, then claimed', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const synced: number[] = [];
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, syncFd: async (fd) => void synced.push(fd) });
    const blocks = Array.from({ length: 20 }, () => fakeBlock(3000));
    assert.deepEqual(await Promise.all(blocks.map((b) => store.put(b.id, b.data))), blocks.map(() => 'stored'));
    assert.equal(synced.length, 20, 'one fsync per block file');
    for (const b of blocks) assert.deepEqual(await store.get(b.id), b.data);
    assert.deepEqual(await store.totals('live'), { blocks: 20, bytes: 60_000 });
    assert.equal(store.uncommittedCount(), 0);
    await store.close();
  } finally {
    await cleanup();
  }
});

test('a failed fsync fails the put, removes the temp file and claims nothing', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const store = await BlockStore.open({
      root,
      verifyBlock: sha256Verifier,
      syncFd: async () => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      },
    });
    const b = fakeBlock(4000);
    await assert.rejects(store.put(b.id, b.data), /EIO/);
    assert.equal(await store.has(b.id), false);
    assert.equal(store.uncommittedCount(), 0);
    await store.close();
    assert.deepEqual(await readdir(join(root, 'blocks')), [], 'no temp file left, spares removed on close');
  } finally {
    await cleanup();
  }
});

test('open moves blocks of the old two-level layout (ab/cd/<id>) up one level, keeping retained mtimes', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const live = fakeBlock(1000);
    const retained = fakeBlock(2000);
    const both = fakeBlock(3000);
    const legacy = (area: string, hex: string) => join(root, area, hex.slice(0, 2), hex.slice(2, 4));
    for (const [area, b] of [['blocks', live], ['retained', retained], ['blocks', both]] as const) {
      await mkdir(legacy(area, b.hex), { recursive: true });
      await writeFile(join(legacy(area, b.hex), b.hex), b.data);
    }
    await writeFile(join(legacy('blocks', live.hex), '.tmp-0123'), 'partial');
    const when = new Date(Date.UTC(2021, 5, 1));
    await utimes(join(legacy('retained', retained.hex), retained.hex), when, when);
    // An interrupted earlier migration already moved `both`.
    await mkdir(join(root, 'blocks', both.hex.slice(0, 2)), { recursive: true });
    await writeFile(join(root, 'blocks', both.hex.slice(0, 2), both.hex), both.data);

    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.deepEqual(await store.get(live.id), live.data);
    assert.deepEqual(await store.get(both.id), both.data);
    assert.equal(await store.has(retained.id), false);
    const kept = [];
    for await (const r of store.list('retained')) kept.push(r);
    assert.deepEqual(kept.map((r) => [r.id, Math.round(r.mtimeMs)]), [[retained.hex, when.getTime()]]);
    assert.deepEqual(await store.totals('live'), { blocks: 2, bytes: 4000 });
    for (const [area, b] of [['blocks', live], ['retained', retained], ['blocks', both]] as const) {
      await assert.rejects(stat(legacy(area, b.hex)), /ENOENT/, 'old directories removed');
    }
  } finally {
    await cleanup();
  }
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((res) => setTimeout(res, 2));
  assert.ok(cond(), 'condition not reached');
}

test('a block larger than STORE_SYNC_WRITE_MAX_BYTES is written asynchronously and stored whole', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const b = fakeBlock(STORE_SYNC_WRITE_MAX_BYTES + 100_000);
    assert.equal(await store.put(b.id, b.data), 'stored');
    assert.deepEqual(await store.get(b.id), b.data);
    assert.equal(await store.sizeOf(b.id), b.data.byteLength);
  } finally {
    await cleanup();
  }
});

test('close waits for puts still writing: after it nothing is uncommitted and no temp file is left', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    // Large blocks take the async write path, so they are still before their batch when close() starts.
    const blocks = [fakeBlock(STORE_SYNC_WRITE_MAX_BYTES + 200_000), fakeBlock(STORE_SYNC_WRITE_MAX_BYTES + 300_000)];
    const settled: string[] = [];
    const puts = blocks.map((b) => store.put(b.id, b.data).then((r) => { settled.push(r); return r; }));
    await store.close();
    assert.deepEqual(settled, ['stored', 'stored'], 'every put settled before close resolved');
    assert.equal(store.uncommittedCount(), 0);
    await Promise.all(puts);
    for (const b of blocks) assert.deepEqual(new Uint8Array(await readFile(join(root, 'blocks', b.hex.slice(0, 2), b.hex))), b.data);
    const top = await readdir(join(root, 'blocks'));
    assert.deepEqual(top.filter((n) => n.length > 2), [], 'no temp file left in the store directory');
  } finally {
    await cleanup();
  }
});
