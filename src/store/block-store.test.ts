import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { appendFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { isSealsyncError } from '../errors.js';
import { BlockStore, PACKS_DIR, STORE_DB_FILE, STORE_LOCK_FILE, STORE_SYNC_WRITE_MAX_BYTES, blockIdFromHex, blockIdToHex, type BlockLocation, type StoreCrashPoint } from './block-store.js';
import { fakeBlock, flipStoredByte, fsyncGate, readStoredBytes, sha256Verifier, storedBlocks, tempStore } from './testing/store-helpers.js';

test('put appends a verified block to a pack, files mode 0600, and get returns it', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock(4096);
    assert.equal(await store.put(b.id, b.data), 'stored');
    const loc = store.locate(b.hex) as BlockLocation;
    assert.equal(loc.area, 'live');
    assert.deepEqual(readStoredBytes(loc), b.data);
    assert.equal((await stat(loc.file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, STORE_DB_FILE))).mode & 0o777, 0o600);
    assert.equal(await store.has(b.id), true);
    assert.deepEqual(await store.get(b.id), b.data);
    // the pack holds exactly the sealed bytes (nothing else), and nothing else is in the packs directory
    assert.equal((await stat(loc.file)).size, b.data.byteLength);
    assert.deepEqual(await readdir(join(root, PACKS_DIR)), ['1.pack']);
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
    flipStoredByte(store.locate(b.hex) as BlockLocation, 10);
    assert.equal(await store.get(b.id), null);
    assert.equal(await store.has(b.id), false);
    const q = await readdir(join(root, 'quarantine'));
    assert.equal(q.length, 1);
    assert.ok(q[0]?.startsWith(b.hex));
  } finally {
    await cleanup();
  }
});

test('ids are validated before they are looked up', async () => {
  const { store, cleanup } = await tempStore();
  try {
    assert.throws(() => store.locate('../../etc/passwd'), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    assert.throws(() => store.locate('A'.repeat(64)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    await assert.rejects(store.get('A'.repeat(64)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    await assert.rejects(store.put(new Uint8Array(31), new Uint8Array(1)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    const b = fakeBlock(8);
    assert.deepEqual(blockIdFromHex(blockIdToHex(b.id)), b.id);
  } finally {
    await cleanup();
  }
});

test('list skips stray files; open leaves what is not ours where it is and counts no leftovers', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock();
    await store.put(b.id, b.data);
    await writeFile(join(root, PACKS_DIR, 'notes.txt'), 'x');
    await writeFile(join(root, 'notes.txt'), 'x');
    await store.close();
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    const ids = [];
    for await (const r of reopened.list('live')) ids.push(r.id);
    assert.deepEqual(ids, [b.hex]);
    assert.equal(reopened.takeLeftoversCleanedAtOpen(), 0);
    assert.deepEqual((await readdir(join(root, PACKS_DIR))).sort(), ['1.pack', 'notes.txt'], 'what is not ours stays');
    assert.deepEqual(await reopened.get(b.id), b.data);
    await reopened.close();
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

test('a block is not claimed until its batch is fsynced; a crash before that leaves only a pack tail, dropped on open', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const gate = fsyncGate();
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, syncFd: gate.syncFd });
    const blocks = [fakeBlock(5000), fakeBlock(6000), fakeBlock(7000)];
    const puts = blocks.map((b) => store.put(b.id, b.data));
    // One fdatasync for the batch's pack.
    await waitUntil(() => gate.calls === 1);
    // Written, not yet durable: nothing claims the blocks.
    assert.equal(store.uncommittedCount(), 3);
    for (const b of blocks) {
      assert.equal(await store.has(b.id), false);
      assert.equal(await store.get(b.id), null);
    }
    assert.deepEqual(await store.totals('live'), { blocks: 0, bytes: 0 });
    // A second put of a block in the open batch waits for that batch (no second copy).
    const again = store.put(blocks[0]!.id, blocks[0]!.data);
    assert.equal(store.uncommittedCount(), 3);
    // "kill -9" now (the first instance stays frozen in its fdatasync, never to run
    // again): the next start finds a pack no row points at, and deletes it.
    assert.equal((await stat(join(root, PACKS_DIR, '1.pack'))).size, 18_000, 'the bytes were written');
    const restarted = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal(restarted.takeLeftoversCleanedAtOpen(), 1);
    assert.deepEqual(await restarted.totals('live'), { blocks: 0, bytes: 0 });
    for (const b of blocks) assert.equal(await restarted.get(b.id), null);
    assert.deepEqual(await readdir(join(root, PACKS_DIR)), []);
    // The restarted store works: the same blocks stored again, in a new pack.
    for (const b of blocks) assert.equal(await restarted.put(b.id, b.data), 'stored');
    for (const b of blocks) assert.deepEqual(await restarted.get(b.id), b.data);
    await restarted.close();
    void puts;
    void again;
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

/** The file behind a descriptor (Linux), to tell a pack's fdatasync from the WAL's. */
function fdPath(fd: number): string {
  return readlinkSync(`/proc/self/fd/${fd}`);
}

test('blocks of one batch are committed together: fdatasynced, one transaction, then claimed', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const synced: string[] = [];
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, syncFd: async (fd) => void synced.push(fdPath(fd)) });
    const blocks = Array.from({ length: 20 }, () => fakeBlock(3000));
    assert.deepEqual(await Promise.all(blocks.map((b) => store.put(b.id, b.data))), blocks.map(() => 'stored'));
    assert.equal(synced.filter((p) => p.endsWith('.pack')).length, 1, 'one fdatasync for the whole batch (one pack), not one per block');
    assert.deepEqual(synced.map((p) => p.endsWith('.pack') ? 'pack' : p.endsWith(`${STORE_DB_FILE}-wal`) ? 'wal' : p), ['pack', 'wal'], 'the pack before the rows\' WAL');
    for (const b of blocks) assert.deepEqual(await store.get(b.id), b.data);
    assert.deepEqual(await store.totals('live'), { blocks: 20, bytes: 60_000 });
    assert.equal(store.uncommittedCount(), 0);
    await store.close();
  } finally {
    await cleanup();
  }
});

test('a failed fdatasync fails the put and claims nothing; the pack is dropped on the next open', async () => {
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
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.deepEqual(await reopened.totals('live'), { blocks: 0, bytes: 0 });
    assert.deepEqual(await readdir(join(root, PACKS_DIR)), [], 'no pack without rows is left');
    await reopened.close();
  } finally {
    await cleanup();
  }
});

/** Polls `cond` every 2 ms for up to `tries` times (the default is about a second). */
async function waitUntil(cond: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((res) => setTimeout(res, 2));
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
    const held = storedBlocks(root);
    for (const b of blocks) assert.deepEqual(readStoredBytes(held.find((h) => h.id === b.hex) as BlockLocation), b.data);
    const top = await readdir(join(root, PACKS_DIR));
    assert.deepEqual(top.filter((n) => !/^[0-9]+\.pack$/.test(n)), [], 'nothing but packs in the packs directory');
  } finally {
    await cleanup();
  }
});

/** Sum of the pack files' sizes under a store root. */
async function packBytes(root: string): Promise<number> {
  let total = 0;
  for (const p of await readdir(join(root, PACKS_DIR))) total += (await stat(join(root, PACKS_DIR, p))).size;
  return total;
}

/** A crash point that freezes the store at `point` forever (what a kill -9 there leaves), reporting when reached. */
function freezeAt(point: StoreCrashPoint): { crashPoint: (p: StoreCrashPoint) => Promise<void>; readonly reached: boolean } {
  let reached = false;
  return {
    crashPoint: (p) => {
      if (p !== point) return Promise.resolve();
      reached = true;
      return new Promise<void>(() => undefined);
    },
    get reached() {
      return reached;
    },
  };
}

test('open truncates a pack to its committed length: a half-written tail is dropped, appends go on after the last block', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const a = fakeBlock(3000);
    await store.put(a.id, a.data);
    const loc = store.locate(a.hex) as BlockLocation;
    // A torn append (crash before the batch's commit): bytes no row reaches.
    await appendFile(loc.file, Buffer.alloc(777, 0x55));
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal((await stat(loc.file)).size, 3000, 'cut back to the committed length');
    assert.equal(reopened.takeLeftoversCleanedAtOpen(), 1);
    assert.deepEqual(await reopened.get(a.id), a.data);
    const b = fakeBlock(2000);
    assert.equal(await reopened.put(b.id, b.data), 'stored');
    assert.deepEqual(reopened.locate(b.hex), { file: loc.file, offset: 3000, length: 2000, area: 'live' });
    assert.deepEqual(await reopened.get(b.id), b.data);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a pack that no longer exists takes its rows with it on open (never claimed without bytes)', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, packTargetBytes: 4000 });
    const a = fakeBlock(3000);
    const b = fakeBlock(3000);
    await store.put(a.id, a.data);
    await store.put(b.id, b.data);
    const la = store.locate(a.hex) as BlockLocation;
    assert.notEqual(la.file, (store.locate(b.hex) as BlockLocation).file, 'one block per pack here');
    await store.close();
    await rm(la.file);
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal(await reopened.has(a.id), false);
    assert.deepEqual(await reopened.get(b.id), b.data);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('compaction rewrites a pack more than half dead: live and retained blocks move (area and stamp kept), the pack is deleted', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, packTargetBytes: 10_000 });
    const blocks = Array.from({ length: 5 }, () => fakeBlock(1900));
    for (const b of blocks) await store.put(b.id, b.data);
    const [keep, kept, gone1, gone2, gone3] = blocks as [typeof blocks[0], typeof blocks[0], typeof blocks[0], typeof blocks[0], typeof blocks[0]];
    const first = (store.locate(keep.hex) as BlockLocation).file;
    // Start the next pack so the first one is no longer written to.
    const next = fakeBlock(9000);
    await store.put(next.id, next.data);
    assert.notEqual((store.locate(next.hex) as BlockLocation).file, first);
    const when = Date.UTC(2024, 1, 2);
    assert.equal(await store.retire(kept.hex, when), true);
    assert.equal(await store.remove(gone1.hex, 'live'), 1900);
    assert.equal(await store.remove(gone2.hex, 'live'), 1900);
    // Less than half dead (retained blocks count as used): left alone.
    assert.deepEqual(await store.compact(), { packs: 0, movedBytes: 0, freedBytes: 0 });
    assert.equal(await store.remove(gone3.hex, 'retained'), 0, 'not in that area');
    assert.equal(await store.remove(gone3.hex, 'live'), 1900);
    const report = await store.compact();
    assert.deepEqual(report, { packs: 1, movedBytes: 3800, freedBytes: 5700 });
    await assert.rejects(stat(first), /ENOENT/, 'the compacted pack is deleted');
    assert.deepEqual(await store.get(keep.id), keep.data);
    assert.deepEqual(await store.get(kept.id), kept.data);
    assert.equal(await store.has(kept.id), false, 'still retained');
    const retained = [];
    for await (const r of store.list('retained')) retained.push([r.id, r.mtimeMs]);
    assert.deepEqual(retained, [[kept.hex, when]]);
    assert.deepEqual(await store.totals('live'), { blocks: 2, bytes: 1900 + 9000 });
    await store.close();
    // And after a reopen, nothing is cut that a row needs.
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    for (const b of [keep, kept, next]) assert.deepEqual(await reopened.get(b.id), b.data);
    assert.equal(await packBytes(root), 1900 + 1900 + 9000);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a crash during compaction after its commit and before the old pack is deleted: the next open deletes the pack, every block once', async () => {
  const { root, cleanup } = await tempStore();
  try {
    const freeze = freezeAt('compact-committed');
    const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, packTargetBytes: 6000, crashPoint: freeze.crashPoint });
    // Three blocks fill the first pack, the fourth starts the second; two thirds of the first are then removed.
    const blocks = Array.from({ length: 4 }, () => fakeBlock(2000));
    for (const b of blocks) await store.put(b.id, b.data);
    const old = (store.locate(blocks[0]!.hex) as BlockLocation).file;
    assert.notEqual((store.locate(blocks[3]!.hex) as BlockLocation).file, old);
    assert.equal(await store.remove(blocks[1]!.hex, 'live'), 2000);
    assert.equal(await store.remove(blocks[2]!.hex, 'live'), 2000);
    const small = fakeBlock(100);
    await store.put(small.id, small.data);
    void store.compact();
    await waitUntil(() => freeze.reached);
    // "kill -9" here: the rows are on the new pack, the old pack is still on disk.
    await assert.doesNotReject(stat(old));
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    await assert.rejects(stat(old), /ENOENT/, 'a pack no row points at is deleted on open');
    for (const b of [blocks[0]!, blocks[3]!, small]) assert.deepEqual(await reopened.get(b.id), b.data);
    assert.equal(await reopened.has(blocks[1]!.id), false);
    assert.deepEqual(await reopened.totals('live'), { blocks: 3, bytes: 4100 });
    assert.equal(await packBytes(root), 4100, 'every block exactly once');
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a crash during compaction before its commit: the rows still point at the old pack, the copies are a dropped tail', async () => {
  const { root, cleanup } = await tempStore();
  try {
    let hold = false;
    const gate = fsyncGate();
    const store = await BlockStore.open({
      root,
      verifyBlock: sha256Verifier,
      packTargetBytes: 6000,
      syncFd: (fd) => (hold ? gate.syncFd(fd) : Promise.resolve()),
    });
    const blocks = Array.from({ length: 4 }, () => fakeBlock(2000));
    for (const b of blocks) await store.put(b.id, b.data);
    // The first two go (the last block of the pack stays, so open cannot just cut the dead bytes off).
    const old = (store.locate(blocks[2]!.hex) as BlockLocation).file;
    assert.equal(await store.remove(blocks[0]!.hex, 'live'), 2000);
    assert.equal(await store.remove(blocks[1]!.hex, 'live'), 2000);
    const small = fakeBlock(100);
    await store.put(small.id, small.data);
    hold = true;
    void store.compact();
    await waitUntil(() => gate.calls === 1);
    // "kill -9" while the copy is written but not durable.
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.equal((reopened.locate(blocks[2]!.hex) as BlockLocation).file, old, 'not moved');
    for (const b of [blocks[2]!, blocks[3]!, small]) assert.deepEqual(await reopened.get(b.id), b.data);
    // The old pack keeps its dead half until the next compaction; the copy's bytes are gone.
    assert.equal(await packBytes(root), 6000 + 2000 + 100);
    const report = await reopened.compact();
    assert.equal(report.packs, 1);
    for (const b of [blocks[2]!, blocks[3]!, small]) assert.deepEqual(await reopened.get(b.id), b.data);
    assert.equal(await packBytes(root), 4100);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

/** Writes blocks in the file-per-block layout (live under blocks/ab/<id>). */
test('kill -9 of a process storing, removing and compacting: after reopening, every block it was told is stored is there and whole', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    await store.close(); // the child is the one process with the store open
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./testing/block-store-crash-child.ts', import.meta.url)), root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    // Somewhere in the middle of the work: a random number of steps in.
    const steps = 80 + Math.floor(Math.random() * 120);
    for (let i = 0; i < 3000 && out.split('\n').length < steps; i++) await new Promise((res) => setTimeout(res, 10));
    child.kill('SIGKILL');
    await exited;
    const stored = new Set<string>();
    const removing = new Set<string>();
    const removed = new Set<string>();
    for (const line of out.split('\n')) {
      if (line.startsWith('+')) stored.add(line.slice(1));
      else if (line.startsWith('?')) removing.add(line.slice(1));
      else if (line.startsWith('-')) removed.add(line.slice(1));
    }
    assert.ok(stored.size >= 20, `the child got going (${stored.size} blocks)`);
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    for (const hex of stored) {
      if (removed.has(hex)) assert.equal(await reopened.has(hex), false, 'a removed block stays removed');
      else if (!removing.has(hex)) assert.notEqual(await reopened.get(hex), null, 'a stored block is there and matches its id');
    }
    // No row claims bytes it does not have: every listed block reads back whole and verified.
    let count = 0;
    for await (const b of reopened.list('live')) {
      assert.notEqual(await reopened.get(b.id), null);
      count++;
    }
    assert.ok(count >= stored.size - removing.size);
    assert.equal((await readdir(join(root, 'quarantine'))).length, 0, 'nothing was torn');
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a lost database next to packs: open refuses (and keeps refusing) instead of deleting the packs', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock(3000);
    await store.put(b.id, b.data);
    const pack = (store.locate(b.hex) as BlockLocation).file;
    await store.close();
    for (const f of [STORE_DB_FILE, `${STORE_DB_FILE}-wal`, `${STORE_DB_FILE}-shm`]) await rm(join(root, f), { force: true });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(BlockStore.open({ root, verifyBlock: sha256Verifier }), (e) => isSealsyncError(e, 'ERR_PATH_UNREADABLE'));
    }
    assert.equal((await stat(pack)).size, 3000, 'the pack is untouched');
    // Moved away by the user: the store starts over.
    await rm(join(root, PACKS_DIR), { recursive: true });
    const fresh = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.deepEqual(await fresh.totals('live'), { blocks: 0, bytes: 0 });
    await fresh.close();
  } finally {
    await cleanup();
  }
});

test('one process per store: a live holder of store.lock makes open refuse with one line, a dead one is taken over', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    const b = fakeBlock(3000);
    await store.put(b.id, b.data);
    await store.close();
    assert.equal(await readdir(root).then((names) => names.includes(STORE_LOCK_FILE)), false, 'close releases the lock');
    // Our parent process stands in for another daemon that has the store open.
    await writeFile(join(root, STORE_LOCK_FILE), `${process.ppid}\n`);
    await assert.rejects(BlockStore.open({ root, verifyBlock: sha256Verifier }), (e: unknown) =>
      isSealsyncError(e, 'ERR_STORE_IN_USE') && e.message === `the block store at ${root} is in use by another sealsync process (pid ${process.ppid})`);
    // Refused before touching anything: the block is still there for the next opener.
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(join(root, STORE_LOCK_FILE), `${exited.stdout.toString()}\n`);
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    assert.deepEqual(await reopened.get(b.id), b.data);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a failed WAL sync fails the batch\'s puts; the rows name durable bytes, and a reopened store has the blocks whole', async () => {
  const { store: first, root, cleanup } = await tempStore();
  try {
    await first.close();
    const walFailure = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const store = await BlockStore.open({
      root,
      verifyBlock: sha256Verifier,
      syncFd: async (fd) => {
        if (fdPath(fd).endsWith(`${STORE_DB_FILE}-wal`)) throw walFailure;
      },
    });
    const blocks = Array.from({ length: 3 }, () => fakeBlock(3000));
    const results = await Promise.allSettled(blocks.map((b) => store.put(b.id, b.data)));
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'], 'no put claims a block whose row may not be durable');
    assert.equal(store.uncommittedCount(), 0);
    await store.close();
    const reopened = await BlockStore.open({ root, verifyBlock: sha256Verifier });
    for (const b of blocks) assert.deepEqual(await reopened.get(b.id), b.data);
    assert.equal((await readdir(join(root, 'quarantine'))).length, 0);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a store of format v1 blocks (schema 1) is refused with one line saying to re-create it; a newer one too', async () => {
  const { store, root, cleanup } = await tempStore();
  try {
    await store.close();
    for (const [version, words] of [[1, /format v1 blocks.*re-create/], [3, /newer sealsync/]] as const) {
      const db = new Database(join(root, STORE_DB_FILE));
      db.pragma(`user_version = ${version}`);
      db.close();
      await assert.rejects(BlockStore.open({ root, verifyBlock: sha256Verifier }), (e) => {
        assert.ok(isSealsyncError(e, 'ERR_FORMAT_VERSION'), String(e));
        assert.match(e.message, words);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
    }
  } finally {
    await cleanup();
  }
});
