import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, symlink, writeFile, lstat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import { MAX_PATH_BYTES } from '../model/path.js';
import { checkRelativePath, mkdirParentsSafe, resolveOnDisk, resolveSafe } from './safe-fs.js';

async function tmpRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sealsync-safefs-'));
}

test('checkRelativePath accepts canonical relative paths', () => {
  assert.deepEqual(checkRelativePath('a/b/c.txt'), ['a', 'b', 'c.txt']);
  assert.deepEqual(checkRelativePath('ünïcödé/名前'), ['ünïcödé', '名前']);
  assert.deepEqual(checkRelativePath('.hidden'), ['.hidden']);
});

test('checkRelativePath rejects escaping and non-canonical paths', () => {
  const bad = [
    '', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\0b',
    '.sealsync/archive/x', 'e\u0301', 'x'.repeat(MAX_PATH_BYTES + 1), 'a/' + 'y'.repeat(256),
  ];
  for (const p of bad) {
    assert.throws(() => checkRelativePath(p), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'), JSON.stringify(p.slice(0, 20)));
  }
});

test('resolveSafe refuses a symlinked parent', async () => {
  const root = await tmpRoot();
  const outside = await tmpRoot();
  try {
    await symlink(outside, join(root, 'link'));
    await assert.rejects(resolveSafe(root, 'link/x'), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
    await assert.rejects(mkdirParentsSafe(root, 'link/sub/x'), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
    // the final component may itself be a link (callers replace it, never follow)
    assert.equal(await resolveSafe(root, 'link'), join(root, 'link'));
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('resolveSafe refuses a file used as a parent', async () => {
  const root = await tmpRoot();
  try {
    await writeFile(join(root, 'f'), 'x');
    await assert.rejects(resolveSafe(root, 'f/x'), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('mkdirParentsSafe creates missing parents and reports them', async () => {
  const root = await tmpRoot();
  try {
    await mkdir(join(root, 'a'));
    const { abs, created } = await mkdirParentsSafe(root, 'a/b/c/file.txt');
    assert.equal(abs, join(root, 'a', 'b', 'c', 'file.txt'));
    assert.deepEqual(created, [join(root, 'a', 'b'), join(root, 'a', 'b', 'c')]);
    assert.ok((await lstat(join(root, 'a/b/c'))).isDirectory());
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('resolveOnDisk finds a name spelled NFD on disk from its NFC path (and refuses a linked parent)', async () => {
  const root = await tmpRoot();
  try {
    const dirNfd = 'Re\u0301sume\u0301';
    const fileNfd = 'cafe\u0301.txt';
    await mkdir(join(root, dirNfd));
    await writeFile(join(root, dirNfd, fileNfd), 'x');
    const nfc = `${dirNfd}/${fileNfd}`.normalize('NFC');
    assert.equal(await resolveOnDisk(root, nfc), join(root, dirNfd, fileNfd));
    // An NFC spelling present on disk is preferred; a missing name resolves to its NFC path.
    await writeFile(join(root, 'plain.txt'), 'y');
    assert.equal(await resolveOnDisk(root, 'plain.txt'), join(root, 'plain.txt'));
    assert.equal(await resolveOnDisk(root, 'gone/absent.txt'), join(root, 'gone/absent.txt'));
    // A parent found by its NFD spelling that is a symlink is refused like any linked parent.
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'f'), 'z');
    await symlink(join(root, 'real'), join(root, 'lin\u0303k'));
    await assert.rejects(resolveOnDisk(root, 'lin\u0303k/f'.normalize('NFC')), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
