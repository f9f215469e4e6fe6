import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isInternalPath, isUnchanged, isUnder, recordForEntry, tombstoneFor, type ScanEntry } from './scan-diff.js';
import type { FileStat } from '../../index/types.js';

const entry: ScanEntry = { path: 'a/b.txt', kind: 'file', size: 10, mtimeMs: 1234.5, mode: 0o100644, ino: 9, dev: 1 };
const stat: FileStat = { rowid: 1, path: 'a/b.txt', kind: 'file', size: 10, mode: 0o644, diskMtimeMs: 1234.5, ino: 9, dev: 1, deleted: false, localChange: false };

test('isUnchanged compares size, disk mtime, inode and permission bits', () => {
  assert.equal(isUnchanged(stat, entry), true);
  assert.equal(isUnchanged(stat, { ...entry, dev: 2 }), true, 'a remount does not make files changed');
  assert.equal(isUnchanged(undefined, entry), false);
  assert.equal(isUnchanged({ ...stat, deleted: true }, entry), false);
  assert.equal(isUnchanged(stat, { ...entry, size: 11 }), false);
  assert.equal(isUnchanged(stat, { ...entry, mtimeMs: 1235.5 }), false);
  assert.equal(isUnchanged(stat, { ...entry, mtimeMs: 1233 }), false);
  assert.equal(isUnchanged(stat, { ...entry, ino: 10 }), false);
  assert.equal(isUnchanged(stat, { ...entry, mode: 0o100755 }), false);
  assert.equal(isUnchanged(stat, { ...entry, kind: 'symlink' }), false);
  const dir = { ...stat, kind: 'dir' as const, size: 0 };
  assert.equal(isUnchanged(dir, { ...entry, kind: 'dir', mode: 0o40644, mtimeMs: 99 }), true, 'a directory mtime is not content');
});

test('isUnchanged compares mtimes in whole milliseconds, as the walker reports them', () => {
  // The puller records the stat it took after setting mtime 1234: it may read back 1234.999.
  const applied = { ...stat, diskMtimeMs: 1234.999 };
  assert.equal(isUnchanged(applied, { ...entry, mtimeMs: 1234 }), true, 'a just-received file is not re-hashed');
  assert.equal(isUnchanged(applied, { ...entry, mtimeMs: 1235 }), false);
  assert.equal(isUnchanged({ ...stat, diskMtimeMs: 1234 }, { ...entry, mtimeMs: 1233 }), false);
});

test('records from entries: whole-ms mtime, permission bits only, no blocks for dirs', () => {
  const r = recordForEntry(entry, [{ id: 'x'.repeat(16), value: 1 }]);
  assert.deepEqual([r.mtimeMs, r.mode, r.size, r.deleted], [1234, 0o644, 10, false]);
  const l = recordForEntry({ ...entry, kind: 'symlink', symlinkTarget: '../t' }, []);
  assert.deepEqual([l.size, l.symlinkTarget, l.blocks.length], [0, '../t', 0]);
  const t = tombstoneFor({ ...r, blocks: [{ id: new Uint8Array(32), hash: new Uint8Array(32), size: 10 }] }, [], 5000.7);
  assert.deepEqual([t.deleted, t.size, t.blocks.length, t.mtimeMs, t.kind], [true, 0, 0, 5000, 'file']);
});

test('internal paths and subtree tests', () => {
  assert.equal(isInternalPath('.sealsync'), true);
  assert.equal(isInternalPath('.sealsync/archive/x'), true);
  assert.equal(isInternalPath('d/.sealsync-tmp-abc'), true);
  assert.equal(isInternalPath('.sealsync-tmp-abc'), true);
  assert.equal(isInternalPath('d/.sealsync/x'), true, "a nested folder's state directory");
  assert.equal(isInternalPath('.SEALSYNC/ignore'), true);
  assert.equal(isInternalPath('d/.sealsyncx'), false);
  assert.equal(isInternalPath('.sealignore'), false);
  assert.equal(isUnder('a/b', 'a'), true);
  assert.equal(isUnder('a', 'a'), true);
  assert.equal(isUnder('ab', 'a'), false);
});
