import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deriveReadOnly, keysFromSecret, newFolderSecret, openBlock, type FolderKeys } from '../../crypto/index.js';
import { silentLogger } from '../../logger.js';
import type { BlockRef } from '../../model/types.js';
import { compareVectors } from '../../model/version-vector.js';
import { needFor, pickWinner } from '../../model/needs.js';
import { BlockScheduler, DiskBlockSource } from './block-scheduler.js';
import { Puller } from './puller.js';
import { diskPeer, exchangeRecords, hashBlock, makeDevice, scanPath, snapshotTree, type TestDevice } from '../testing/sync-device.js';

function makePuller(dev: TestDevice, from: TestDevice[], opts: { localChanged?: boolean; isIgnored?: (path: string) => boolean } = {}) {
  const counters = { requests: 0 };
  const scheduler = new BlockScheduler({
    openBlock: (sealed: Uint8Array, ref: BlockRef) => openBlock(dev.keys.contentKey!, sealed, ref),
    local: new DiskBlockSource(dev.root, (h) => dev.index.findBlocksByHash(h).filter((l) => l.folderRowId === dev.folder), hashBlock),
  });
  for (const f of from) scheduler.addPeer(diskPeer(f, counters));
  let published = 0;
  const applied: string[] = [];
  const conflicts: { path: string; copyPath: string; writer: string }[] = [];
  const puller = new Puller({
    root: dev.root, folder: dev.folder, type: dev.type, keys: dev.keys, index: dev.index,
    fetchBlock: (ref, o) => scheduler.fetch(ref, o), hashBlock,
    localChanged: opts.localChanged === false ? undefined : async (path) => void (await scanPath(dev, path)),
    onPublished: () => published++,
    onApplied: (path, action) => applied.push(`${action} ${path}`),
    onConflictCopy: (path, copyPath, writer) => conflicts.push({ path, copyPath, writer }),
    logger: silentLogger(), retryMs: 60_000,
    ...(opts.isIgnored ? { isIgnored: opts.isIgnored } : {}),
  });
  puller.start();
  return {
    puller, scheduler, counters, published: () => published, applied, conflicts,
    async stop() {
      await puller.stop();
      scheduler.stop();
    },
  };
}

async function sync(from: TestDevice, to: TestDevice, p: ReturnType<typeof makePuller>) {
  p.puller.schedule(exchangeRecords(from, to));
  await p.puller.whenIdle();
}

/**
 * `path` synced from A to B, then edited on both while apart (A's edit older),
 * then exchanged both ways until quiet (bounded).
 */
async function editWhileApart(a: TestDevice, b: TestDevice, pa: ReturnType<typeof makePuller>, pb: ReturnType<typeof makePuller>, path: string) {
  await writeFile(join(a.root, path), 'base');
  await scanPath(a, path);
  await sync(a, b, pb);
  await writeFile(join(a.root, path), 'edit from A');
  await utimes(join(a.root, path), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  await scanPath(a, path);
  await writeFile(join(b.root, path), 'edit from B, later');
  await utimes(join(b.root, path), new Date(1_700_000_100_000), new Date(1_700_000_100_000));
  await scanPath(b, path);
  for (let i = 0; i < 4; i++) {
    await sync(a, b, pb);
    await sync(b, a, pa);
  }
}

async function writeTree(dev: TestDevice) {
  const r = dev.root;
  await mkdir(join(r, 'docs/deep/er/still'), { recursive: true });
  await mkdir(join(r, 'empty-dir'));
  await writeFile(join(r, 'empty.txt'), '');
  await writeFile(join(r, 'docs/big.bin'), randomBytes(300_000));
  await writeFile(join(r, 'docs/deep/er/still/x.txt'), 'deep');
  await writeFile(join(r, 'Ünïcødé ファイル.txt'), 'unicode');
  await writeFile(join(r, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(r, 'run.sh'), 0o755);
  await symlink('docs/deep', join(r, 'link-to-deep'));
  await symlink('/nonexistent/abs', join(r, 'dangling'));
  for (const p of ['docs', 'docs/deep', 'docs/deep/er', 'docs/deep/er/still', 'empty-dir', 'empty.txt', 'docs/big.bin',
    'docs/deep/er/still/x.txt', 'Ünïcødé ファイル.txt', 'run.sh', 'link-to-deep', 'dangling']) {
    await scanPath(dev, p);
  }
}

test('a mixed tree is pulled exactly: content, modes, empty files and dirs, symlinks', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = makePuller(b, [a]);
  try {
    await writeTree(a);
    await sync(a, b, p);
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
    assert.equal(p.puller.status().needFiles, 0);
    assert.equal(p.puller.status().state, 'idle');
    assert.equal(b.index.getFile(b.folder, 'docs/big.bin')?.record.size, 300_000);
    // The row holds the stat as a scan takes it (whole ms), and the disk has the record's mtime.
    const row = b.index.getFile(b.folder, 'docs/big.bin')!;
    const st = await lstat(join(b.root, 'docs/big.bin'));
    assert.equal(row.diskMtimeMs, Math.floor(st.mtimeMs));
    assert.equal(Math.floor(st.mtimeMs), row.record.mtimeMs);
    // nothing left to do: a second full pass fetches nothing
    const before = p.counters.requests;
    p.puller.schedule();
    await p.puller.whenIdle();
    assert.equal(p.counters.requests, before);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('renames and moves reuse local blocks; edits fetch only changed blocks; deletes are archived', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = makePuller(b, [a]);
  try {
    await mkdir(join(a.root, 'd'));
    await writeFile(join(a.root, 'd/f.bin'), randomBytes(200_000)); // 4 blocks
    await writeFile(join(a.root, 'gone.txt'), 'old content');
    for (const x of ['d', 'd/f.bin', 'gone.txt']) await scanPath(a, x);
    await sync(a, b, p);
    const first = p.counters.requests;
    assert.equal(first, 5);
    // move the directory (rename = delete + add, blocks from disk)
    await rename(join(a.root, 'd'), join(a.root, 'moved'));
    for (const x of ['d/f.bin', 'd', 'moved', 'moved/f.bin']) await scanPath(a, x);
    await rm(join(a.root, 'gone.txt'));
    await scanPath(a, 'gone.txt');
    await sync(a, b, p);
    assert.equal(p.counters.requests, first, 'a move costs no transfer');
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
    const archived = await readdir(join(b.root, '.sealsync/archive'));
    assert.ok(archived.some((n) => n.startsWith('gone~') && n.endsWith('.txt')), archived.join(','));
    // an edit of one block fetches one block
    const buf = await readFile(join(a.root, 'moved/f.bin'));
    buf[70_000] = buf[70_000]! ^ 0xff;
    await writeFile(join(a.root, 'moved/f.bin'), buf);
    await scanPath(a, 'moved/f.bin');
    await sync(a, b, p);
    assert.equal(p.counters.requests, first + 1);
    assert.deepEqual(await readFile(join(b.root, 'moved/f.bin')), buf);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('concurrent edits: both contents survive identically on both sides and a dominating version is published', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const pa = makePuller(a, [b]);
  const pb = makePuller(b, [a]);
  try {
    // both edit while disconnected, then reconnect
    await editWhileApart(a, b, pa, pb, 'note.txt');
    const sa = await snapshotTree(a.root);
    const sb = await snapshotTree(b.root);
    assert.deepEqual(sa, sb);
    const names = Object.keys(sa).sort();
    assert.equal(names.length, 2, names.join(','));
    const copy = names.find((n) => n.includes('.sync-conflict-'))!;
    assert.match(copy, /^note\.sync-conflict-\d{8}-\d{6}-[0-9A-F]{7}\.txt$/);
    assert.equal(await readFile(join(a.root, 'note.txt'), 'utf8'), 'edit from B, later', 'newer mtime wins');
    assert.equal(await readFile(join(a.root, copy), 'utf8'), 'edit from A');
    // the published version dominates both edits
    const fa = a.index.getFile(a.folder, 'note.txt')!;
    const fb = b.index.getFile(b.folder, 'note.txt')!;
    assert.ok(pa.published() + pb.published() > 0);
    assert.notEqual(compareVectors(fa.record.version, fb.record.version), 'lesser');
  } finally {
    await pa.stop();
    await pb.stop();
    await a.close();
    await b.close();
  }
});

test('a local edit that lands during a pull becomes a conflict, not an overwrite', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  try {
    await writeFile(join(a.root, 'f.bin'), randomBytes(100_000));
    await scanPath(a, 'f.bin');
    const p0 = makePuller(b, [a]);
    await sync(a, b, p0);
    await p0.stop();
    await writeFile(join(a.root, 'f.bin'), randomBytes(150_000));
    await scanPath(a, 'f.bin');
    // B's peer edits B's file on the first block request
    const peer = diskPeer(a);
    let edited = false;
    const slow = { ...peer, async requestBlock(id: BlockRef, o: { signal?: AbortSignal }) {
      if (!edited) {
        edited = true;
        await writeFile(join(b.root, 'f.bin'), 'local edit during the transfer');
        await utimes(join(b.root, 'f.bin'), new Date(), new Date(Date.now() + 3_600_000));
      }
      return peer.requestBlock(id, o);
    } };
    const p = makePuller(b, []);
    p.scheduler.addPeer(slow);
    await sync(a, b, p);
    const remote = await readFile(join(a.root, 'f.bin'));
    const names = (await readdir(b.root)).filter((n) => !n.startsWith('.'));
    assert.equal(names.length, 2, names.join(','));
    const contents = await Promise.all(names.map((n) => readFile(join(b.root, n))));
    assert.ok(contents.some((c) => c.toString() === 'local edit during the transfer'), 'the local edit survives');
    assert.ok(contents.some((c) => c.equals(remote)), 'the remote version survives');
    await p.stop();
  } finally {
    await a.close();
    await b.close();
  }
});

test('read-only peer: receives everything, keeps local edits out of the index, revert restores', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const roKeys: FolderKeys = deriveReadOnly(keys);
  const a = await makeDevice('A', keys);
  const r = await makeDevice('R', roKeys);
  const p = makePuller(r, [a]);
  try {
    await writeFile(join(a.root, 'x.txt'), 'global x');
    await writeFile(join(a.root, 'y.txt'), 'global y');
    await scanPath(a, 'x.txt');
    await scanPath(a, 'y.txt');
    await sync(a, r, p);
    assert.equal(await readFile(join(r.root, 'x.txt'), 'utf8'), 'global x');
    // local edits on the ro peer
    await writeFile(join(r.root, 'x.txt'), 'local edit');
    await scanPath(r, 'x.txt');
    await writeFile(join(r.root, 'added.txt'), 'local addition');
    await scanPath(r, 'added.txt');
    const seqBefore = r.index.folderSeq(r.folder);
    // a remote change to another path still arrives; the edited path is left alone
    await writeFile(join(a.root, 'y.txt'), 'global y v2');
    await scanPath(a, 'y.txt');
    await sync(a, r, p);
    assert.equal(await readFile(join(r.root, 'y.txt'), 'utf8'), 'global y v2');
    assert.equal(await readFile(join(r.root, 'x.txt'), 'utf8'), 'local edit');
    assert.equal(p.published(), 0, 'a read-only peer never publishes');
    assert.equal(r.index.folderSeq(r.folder), seqBefore + 1, 'only the remote record was stored');
    await p.puller.revert();
    assert.deepEqual(await snapshotTree(r.root), await snapshotTree(a.root));
  } finally {
    await p.stop();
    await a.close();
    await r.close();
  }
});

test('a directory replaced by a file: children are deleted first, then the file takes its place in the same run', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = makePuller(b, [a]);
  try {
    await mkdir(join(a.root, 'thing/sub'), { recursive: true });
    await writeFile(join(a.root, 'thing/sub/x.txt'), 'x');
    for (const x of ['thing', 'thing/sub', 'thing/sub/x.txt']) await scanPath(a, x);
    await sync(a, b, p);
    await rm(join(a.root, 'thing'), { recursive: true });
    for (const x of ['thing/sub/x.txt', 'thing/sub']) await scanPath(a, x);
    await writeFile(join(a.root, 'thing'), 'now a file');
    await scanPath(a, 'thing');
    await sync(a, b, p);
    assert.equal(await readFile(join(b.root, 'thing'), 'utf8'), 'now a file');
    assert.deepEqual([p.puller.status().parked, p.puller.status().parkedCount], [[], 0]);
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('paths this device ignores are neither written nor deleted', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = makePuller(b, [a], { isIgnored: (path) => path.endsWith('.log') || path === 'cache' || path.startsWith('cache/') });
  try {
    await mkdir(join(a.root, 'cache'));
    await writeFile(join(a.root, 'cache/c.bin'), 'cached');
    await writeFile(join(a.root, 'app.log'), 'log line');
    await writeFile(join(a.root, 'kept.txt'), 'kept');
    for (const x of ['cache', 'cache/c.bin', 'app.log', 'kept.txt']) await scanPath(a, x);
    await sync(a, b, p);
    assert.deepEqual(Object.keys(await snapshotTree(b.root)), ['kept.txt']);
    assert.equal(p.puller.status().needFiles, 0);
  } finally {
    await p.stop();
    await a.close();
    await b.close();
  }
});

test('the puller reports each path it applied and each conflict copy it kept (for the daemon\'s events)', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const pa = makePuller(a, [b]);
  const pb = makePuller(b, [a]);
  try {
    await mkdir(join(a.root, 'dir'));
    await writeFile(join(a.root, 'dir/f.txt'), 'one');
    for (const p of ['dir', 'dir/f.txt']) await scanPath(a, p);
    await sync(a, b, pb);
    assert.deepEqual(pb.applied, ['added dir', 'added dir/f.txt']);
    await writeFile(join(a.root, 'dir/f.txt'), 'two!');
    await scanPath(a, 'dir/f.txt');
    await sync(a, b, pb);
    await rm(join(a.root, 'dir/f.txt'));
    await scanPath(a, 'dir/f.txt');
    await sync(a, b, pb);
    assert.deepEqual(pb.applied.slice(2), ['modified dir/f.txt', 'deleted dir/f.txt']);
    assert.deepEqual(pa.applied, [], 'A applied nothing');

    // Both edit one file while apart: the side that resolves reports the copy it kept.
    await editWhileApart(a, b, pa, pb, 'n.txt');
    const all = [...pa.conflicts, ...pb.conflicts];
    assert.ok(all.length >= 1, 'a conflict copy was reported');
    for (const c of all) {
      assert.equal(c.path, 'n.txt');
      assert.match(c.copyPath, /^n\.sync-conflict-\d{8}-\d{6}-[0-9A-F]{7}\.txt$/);
      assert.equal(c.writer, a.index.vectorId, 'the older edit (A\'s) lost');
      assert.equal(await readFile(join(a.root, c.copyPath), 'utf8'), 'edit from A');
    }
  } finally {
    await pa.stop();
    await pb.stop();
    await a.close();
    await b.close();
  }
});

test('a file already on disk with the same content, mtime and mode (copied by hand) is adopted, not rewritten', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeDevice('A', keys);
  const b = await makeDevice('B', keys);
  const p = makePuller(b, [a]);
  const pa = makePuller(a, [b]);
  try {
    const data = randomBytes(200_000);
    const when = new Date(1_700_000_000_123);
    for (const dev of [a, b]) {
      await writeFile(join(dev.root, 'same.bin'), data);
      await utimes(join(dev.root, 'same.bin'), when, when);
      await writeFile(join(dev.root, 'touched.txt'), 'same bytes, other mtime');
      await scanPath(dev, 'same.bin');
    }
    const later = new Date(when.getTime() + 60_000); // A's touched.txt is newer: it wins, and its mtime must land on B
    await utimes(join(a.root, 'touched.txt'), later, later);
    await utimes(join(b.root, 'touched.txt'), when, when);
    await scanPath(a, 'touched.txt');
    await scanPath(b, 'touched.txt');
    const inoBefore = [(await lstat(join(a.root, 'same.bin'))).ino, (await lstat(join(b.root, 'same.bin'))).ino];
    // Both ways: whichever side's version loses the tie rule must adopt the other's without a rewrite.
    await sync(a, b, p);
    await sync(b, a, pa);
    assert.deepEqual([(await lstat(join(a.root, 'same.bin'))).ino, (await lstat(join(b.root, 'same.bin'))).ino], inoBefore, 'same.bin rewritten on neither side');
    assert.equal(p.counters.requests + pa.counters.requests, 0, 'nothing fetched');
    const row = b.index.getFile(b.folder, 'same.bin');
    const held = a.index.getFile(a.folder, 'same.bin');
    // B holds the winner of the two versions (its own or A's, by the tie rule): nothing is left to do.
    assert.equal(needFor(row!.record, pickWinner([row!.record, held!.record])), 'nothing', 'B adopted the global version');
    const aTouched = Math.floor((await lstat(join(a.root, 'touched.txt'))).mtimeMs);
    assert.equal(Math.floor((await lstat(join(b.root, 'touched.txt'))).mtimeMs), aTouched, 'a winner with another mtime is still applied');
    const archived = await readdir(join(b.root, '.sealsync/archive')).catch(() => [] as string[]);
    assert.deepEqual(archived.filter((n) => n.startsWith('touched')), [], 'the same bytes are not archived when only the mtime changes');
    assert.deepEqual(await snapshotTree(b.root), await snapshotTree(a.root));
  } finally {
    await pa.stop();
    await p.stop();
    await a.close();
    await b.close();
  }
});
