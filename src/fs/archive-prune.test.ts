import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHIVE_REL, archiveFile } from './archive.js';
import { listArchive, type ArchivedCopy } from './archive-versions.js';
import { archiveBoundBytes, DEFAULT_ARCHIVE_SHARE, diskSpace, minFreeBytes, oldestFirst, pruneArchive, pruneOrder } from './archive-prune.js';

const T = Date.UTC(2026, 11, 7, 1, 2, 3);
const copy = (path: string, atMs: number, version: string, size: number): ArchivedCopy =>
  ({ path, version, archivePath: `${ARCHIVE_REL}/${path}~${version}`, archivedAt: atMs, size, mtimeMs: 0 });

test('prune order: oldest first by time, then collision suffix (numeric), then path', () => {
  const copies = [
    copy('b.txt', T + 2000, '20261207-010205', 1),
    copy('a.txt', T, '20261207-010203-10', 1),
    copy('z.txt', T, '20261207-010203', 1),
    copy('a.txt', T, '20261207-010203-2', 1),
    copy('y.txt', T - 60_000, '20261207-010103', 1),
    copy('a.txt', T, '20261207-010203', 1),
  ];
  const order = [...copies].sort(oldestFirst).map((c) => `${c.path}@${c.version}`);
  assert.deepEqual(order, [
    'y.txt@20261207-010103',
    'a.txt@20261207-010203',
    'z.txt@20261207-010203',
    'a.txt@20261207-010203-2',
    'a.txt@20261207-010203-10',
    'b.txt@20261207-010205',
  ]);
});

test('prune order stops as soon as enough is freed, keeps the newest, and is bounded', () => {
  const copies = [copy('n', T + 3000, '20261207-010206', 50), copy('o', T, '20261207-010203', 30), copy('m', T + 1000, '20261207-010204', 30)];
  assert.deepEqual(pruneOrder(copies, 0), []);
  assert.deepEqual(pruneOrder(copies, -5), []);
  assert.deepEqual(pruneOrder(copies, Number.NaN), []);
  assert.deepEqual(pruneOrder(copies, 1).map((c) => c.path), ['o']);
  assert.deepEqual(pruneOrder(copies, 30).map((c) => c.path), ['o']);
  assert.deepEqual(pruneOrder(copies, 31).map((c) => c.path), ['o', 'm']);
  assert.deepEqual(pruneOrder(copies, 1e9).map((c) => c.path), ['o', 'm', 'n'], 'everything, if the space is needed');
  assert.deepEqual(pruneOrder(copies, 1e9, 2).map((c) => c.path), ['o', 'm'], 'at most max per pass');
  assert.equal(copies[0]!.path, 'n', 'the input is not reordered');
});

test('the size bound: the folder\'s own, else a tenth of the disk; the margin is 1 %', () => {
  const disk = { total: 1000 * 1024 * 1024, free: 10 };
  assert.equal(archiveBoundBytes(5, disk), 5);
  assert.equal(archiveBoundBytes(0, disk), Math.floor(disk.total * DEFAULT_ARCHIVE_SHARE));
  assert.equal(minFreeBytes(disk), Math.ceil(disk.total / 100));
  for (const bad of [-1, Number.NaN, Infinity]) assert.throws(() => archiveBoundBytes(bad, disk), /maxBytes/);
});

test('pruneArchive removes the oldest copies over the bound and the directories they leave empty', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-prune-'));
  try {
    await mkdir(join(root, 'd/e'), { recursive: true });
    const when = [T, T + 1000, T + 2000, T + 3000];
    const paths = ['d/e/old.bin', 'top.bin', 'd/mid.bin', 'd/new.bin'];
    for (let i = 0; i < 4; i++) {
      await writeFile(join(root, paths[i]!), Buffer.alloc(100, i));
      await archiveFile(root, paths[i]!, new Date(when[i]!));
    }
    await writeFile(join(root, ARCHIVE_REL, 'notes.txt'), 'a user\'s file: not a version');
    const r = await pruneArchive(root, { maxBytes: 250 });
    assert.deepEqual(r.removed.map((c) => c.path), ['d/e/old.bin', 'top.bin']);
    assert.equal(r.freedBytes, 200);
    assert.equal(r.reason, 'size-bound');
    assert.deepEqual([r.kept, r.keptBytes], [2, 200]);
    assert.deepEqual((await listArchive(root)).map((c) => c.path), ['d/new.bin', 'd/mid.bin']);
    assert.deepEqual(await readdir(join(root, ARCHIVE_REL, 'd')), ['mid~20261207-010205.bin', 'new~20261207-010206.bin'], 'd/e went with its last copy');
    assert.ok((await readdir(join(root, ARCHIVE_REL))).includes('notes.txt'), 'a name that is not a version stays');
    const again = await pruneArchive(root, { maxBytes: 250 });
    assert.deepEqual([again.removed.length, again.reason], [0, null], 'within the bound: nothing more');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('pruneArchive frees what a write needs plus the margin, oldest first, and says so', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-prune-'));
  try {
    for (let i = 0; i < 3; i++) {
      await writeFile(join(root, `f${i}`), Buffer.alloc(4096, i));
      await archiveFile(root, `f${i}`, new Date(T + i * 1000));
    }
    const disk = await diskSpace(root);
    // Asking for more than the disk has free: every copy goes (old versions never block new data).
    const all = await pruneArchive(root, { maxBytes: 1e12, needBytes: disk.free + 1 });
    assert.deepEqual(all.removed.map((c) => c.path), ['f0', 'f1', 'f2']);
    assert.equal(all.reason, 'disk-space');
    assert.deepEqual(await pruneArchive(root, { maxBytes: 0 }), { removed: [], freedBytes: 0, reason: null, keptBytes: 0, kept: 0 }, 'an empty archive');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
