// The puller never waits on a timer for work it could do now, and a parked
// path carries its real path and leaves when it needs nothing any more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keysFromSecret, newFolderSecret, openBlock } from '../../crypto/index.js';
import { silentLogger } from '../../logger.js';
import type { BlockRef } from '../../model/types.js';
import { BlockScheduler, DiskBlockSource } from './block-scheduler.js';
import { MAX_PASSES_PER_RUN, Puller } from './puller.js';
import { diskPeer, exchangeRecords, hashBlock, makeDevice, scanPath, snapshotTree, type TestDevice } from '../testing/sync-device.js';

/** A retry this slow would fail every deadline below: anything that passes did not wait for it. */
const SLOW_RETRY_MS = 60_000;

function pullerFor(dev: TestDevice, from: TestDevice | null) {
  const scheduler = new BlockScheduler({
    openBlock: (sealed: Uint8Array, ref: BlockRef) => openBlock(dev.keys.contentKey!, sealed, ref),
    local: new DiskBlockSource(dev.root, (h) => dev.index.findBlocksByHash(h).filter((l) => l.folderRowId === dev.folder), hashBlock),
    requestTimeoutMs: 2000,
  });
  if (from) scheduler.addPeer(diskPeer(from));
  const puller = new Puller({
    root: dev.root, folder: dev.folder, type: dev.type, keys: dev.keys, index: dev.index,
    fetchBlock: (ref, o) => scheduler.fetch(ref, o), hashBlock,
    logger: silentLogger(), retryMs: SLOW_RETRY_MS,
  });
  puller.start();
  return { puller, scheduler, stop: async () => { await puller.stop(); scheduler.stop(); } };
}

test('records that keep arriving during a pull are taken by the next pass at once; nothing is parked', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = pullerFor(b, a);
  try {
    const started = Date.now();
    // More batches than passes per run, each handed over while the last is still pulled.
    for (let batch = 0; batch < MAX_PASSES_PER_RUN * 3; batch++) {
      const dir = `batch-${batch}`;
      await mkdir(join(a.root, dir));
      await scanPath(a, dir);
      for (let i = 0; i < 4; i++) {
        await writeFile(join(a.root, dir, `f${i}.bin`), randomBytes(1000 + batch * 100 + i));
        await scanPath(a, `${dir}/f${i}.bin`);
      }
      p.puller.schedule(exchangeRecords(a, b));
      await new Promise((r) => setImmediate(r));
    }
    await p.puller.whenIdle();
    const s = p.puller.status();
    assert.deepEqual([s.state, s.needFiles, s.needBytes, s.parkedCount, s.error], ['idle', 0, 0, 0, null]);
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
    assert.ok(Date.now() - started < SLOW_RETRY_MS / 2, `done in ${Date.now() - started} ms, without the retry timer`);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('a path no peer can give is parked with its path and reason, and leaves when it needs nothing any more', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = pullerFor(b, null); // nobody to fetch from
  try {
    await writeFile(join(a.root, 'wanted.bin'), randomBytes(5000));
    await scanPath(a, 'wanted.bin');
    p.puller.schedule(exchangeRecords(a, b));
    await p.puller.whenIdle();
    const s = p.puller.status();
    assert.equal(s.parkedCount, 1);
    assert.equal(s.parked[0]?.path, 'wanted.bin');
    assert.ok((s.parked[0]?.reason ?? '').length > 0);
    assert.ok((s.parked[0]?.nextAttemptAt ?? 0) > Date.now(), 'a retry is scheduled');
    assert.deepEqual([s.needFiles, s.needBytes], [1, 5000]);
    // The file is deleted on A before B ever got it: B needs nothing now.
    const { rm } = await import('node:fs/promises');
    await rm(join(a.root, 'wanted.bin'));
    await scanPath(a, 'wanted.bin');
    p.puller.schedule(exchangeRecords(a, b));
    await p.puller.whenIdle();
    const t = p.puller.status();
    assert.deepEqual([t.state, t.needFiles, t.needBytes, t.parkedCount, t.parked], ['idle', 0, 0, 0, []]);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('a record that arrives while a pass is still fetching a slow file is pulled in that pass, not after it', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const scheduler = new BlockScheduler({
    openBlock: (sealed: Uint8Array, ref: BlockRef) => openBlock(b.keys.contentKey!, sealed, ref),
    local: new DiskBlockSource(b.root, (h) => b.index.findBlocksByHash(h).filter((l) => l.folderRowId === b.folder), hashBlock),
    requestTimeoutMs: 60_000,
  });
  scheduler.addPeer(diskPeer(a));
  const SLOW_SIZE = 7777;
  let releaseSlow!: () => void;
  const slowGate = new Promise<void>((r) => { releaseSlow = r; });
  const applied: string[] = [];
  const puller = new Puller({
    root: b.root, folder: b.folder, type: b.type, keys: b.keys, index: b.index,
    // The slow file's only block is held until late.bin is on disk: a pass that waited
    // for its slowest file before taking new records would never finish.
    fetchBlock: async (ref, o) => {
      if (ref.size === SLOW_SIZE) await slowGate;
      return scheduler.fetch(ref, o);
    },
    hashBlock,
    onApplied: (path) => {
      applied.push(path);
      if (path === 'late/late.bin') releaseSlow();
    },
    logger: silentLogger(), retryMs: SLOW_RETRY_MS,
  });
  puller.start();
  try {
    await writeFile(join(a.root, 'slow.bin'), randomBytes(SLOW_SIZE));
    await scanPath(a, 'slow.bin');
    puller.schedule(exchangeRecords(a, b));
    // The pass is fetching slow.bin now; a new directory and file arrive.
    while (puller.status().state !== 'syncing') await new Promise((r) => setImmediate(r));
    await mkdir(join(a.root, 'late'));
    await scanPath(a, 'late');
    await writeFile(join(a.root, 'late', 'late.bin'), randomBytes(3000));
    await scanPath(a, 'late/late.bin');
    puller.schedule(exchangeRecords(a, b));
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the pass waited for its slow file before taking the late record')), 15_000);
    });
    try {
      await Promise.race([puller.whenIdle(), stuck]);
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(applied, ['late', 'late/late.bin', 'slow.bin']);
    const s = puller.status();
    assert.deepEqual([s.state, s.needFiles, s.needBytes, s.parkedCount, s.error], ['idle', 0, 0, 0, null]);
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
  } finally {
    releaseSlow();
    await puller.stop();
    scheduler.stop();
    await a.close();
    await b.close();
  }
});
