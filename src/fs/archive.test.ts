import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import { ARCHIVE_REL, archiveFile, archiveName, archivedAt, cleanArchive, formatStamp, splitExtension } from './archive.js';

const T0 = new Date(Date.UTC(2026, 10, 26, 21, 24, 5));
const DAY = 86_400_000;

async function tmpRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sealsync-archive-'));
}

test('archive names keep the extension readable and round-trip their time', () => {
  assert.equal(formatStamp(T0), '20261126-212405');
  assert.equal(archiveName('report.pdf', T0), 'report~20261126-212405.pdf');
  assert.equal(archiveName('.bashrc', T0), '.bashrc~20261126-212405');
  assert.equal(archiveName('a.tar.gz', T0, 2), 'a.tar~20261126-212405-2.gz');
  assert.deepEqual(splitExtension('noext'), { stem: 'noext', ext: '' });
  assert.equal(archivedAt(archiveName('x.txt', T0)), T0.getTime());
  assert.equal(archivedAt(archiveName('x', T0, 3)), T0.getTime());
  assert.equal(archivedAt('plain.txt'), null);
});

test('archiveFile moves a file into the archive, twice in one second gets distinct names', async () => {
  const root = await tmpRoot();
  try {
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'docs/a.txt'), 'one');
    const first = await archiveFile(root, 'docs/a.txt', T0);
    assert.equal(first, `${ARCHIVE_REL}/docs/a~20261126-212405.txt`);
    assert.equal(await readFile(join(root, first!), 'utf8'), 'one');
    await assert.rejects(lstat(join(root, 'docs/a.txt')));
    await writeFile(join(root, 'docs/a.txt'), 'two');
    const second = await archiveFile(root, 'docs/a.txt', T0, { keepOriginal: true });
    assert.equal(second, `${ARCHIVE_REL}/docs/a~20261126-212405-1.txt`);
    assert.equal(await readFile(join(root, second!), 'utf8'), 'two');
    assert.equal(await readFile(join(root, 'docs/a.txt'), 'utf8'), 'two', 'keepOriginal leaves the file in place');
    assert.equal(await archiveFile(root, 'docs/missing.txt', T0), null);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('archiveFile refuses a symlinked private directory', async () => {
  const root = await tmpRoot();
  const outside = await tmpRoot();
  try {
    await symlink(outside, join(root, '.sealsync'));
    await writeFile(join(root, 'a.txt'), 'x');
    await assert.rejects(archiveFile(root, 'a.txt', T0), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
    assert.deepEqual(await readdir(outside), []);
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('cleanArchive removes copies past retention and empty directories', async () => {
  const root = await tmpRoot();
  try {
    await mkdir(join(root, 'old/deep'), { recursive: true });
    await writeFile(join(root, 'old/deep/x.txt'), 'x');
    await writeFile(join(root, 'new.txt'), 'n');
    await archiveFile(root, 'old/deep/x.txt', new Date(T0.getTime() - 31 * DAY));
    const kept = await archiveFile(root, 'new.txt', new Date(T0.getTime() - 29 * DAY));
    const r = await cleanArchive(root, T0, 30);
    assert.deepEqual(r, { removed: 1, kept: 1 });
    await assert.rejects(lstat(join(root, ARCHIVE_REL, 'old')));
    assert.equal(await readFile(join(root, kept!), 'utf8'), 'n');
    assert.deepEqual(await cleanArchive(root, T0, 0), { removed: 1, kept: 0 });
    assert.deepEqual(await cleanArchive(join(root, 'no-such-root'), T0), { removed: 0, kept: 0 });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
