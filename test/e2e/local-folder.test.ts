/**
 * LocalFolder against real files, a real index and the real hash pool and
 * watcher: exact counts on a 2,000-file tree with ignore rules, changes seen
 * by the watcher, and a kill -9 in the middle of a scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, rename, rm, unlink, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openIndex, type Index } from '../../src/index/index.js';
import { LocalFolder } from '../../src/engine/local/local-folder.js';
import { createLocalFolderServices } from '../../src/engine/local/local-folder-services.js';
import { decodeSealedRecord, keysFromSecret, locatorFor, newFolderSecret, openRecord, toHex, type FolderKeys } from '../../src/crypto/index.js';
import { vectorKey } from '../../src/model/version-vector.js';
import { silentLogger } from '../../src/logger.js';
import { REPO_ROOT, makeTempDir, pollUntil } from './helpers/harness.js';
import { generateTree } from './helpers/tree.js';

const TREE_FILES = 2000;
const WATCH_DEADLINE_MS = 5000;
const CHILD_TIMEOUT_MS = 30_000;

interface Fixture {
  dir: string;
  root: string;
  index: Index;
  keys: FolderKeys;
  folderRowId: number;
}

async function fixture(t: { after: (fn: () => Promise<void>) => void }): Promise<Fixture> {
  const dir = await makeTempDir('ss-lf-');
  const keys = keysFromSecret(newFolderSecret());
  const index = openIndex(join(dir, 'index.db'));
  const root = join(dir, 'data');
  const folderRowId = index.addFolder({ path: root, folderId: toHex(keys.folderId), type: 'rw' }).rowId;
  t.after(async () => {
    if (index.isOpen) index.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, root, index, keys, folderRowId };
}

async function runFolder(t: { after: (fn: () => Promise<void>) => void }, f: Fixture, watch: boolean) {
  const services = createLocalFolderServices({ workers: 2 });
  await services.start();
  const folder = new LocalFolder(
    { index: f.index, pool: services.pool, logger: silentLogger(), fs: services.fs },
    { path: f.root, keys: f.keys, folderRowId: f.folderRowId, rescanIntervalMs: 3_600_000, watch, debounceMs: 100 },
  );
  t.after(async () => {
    await folder.stop();
    await services.stop();
  });
  await folder.start();
  await folder.scanNow();
  return folder;
}

/** Every live file row has its sealed record with the same version, and the record opens to the same content. */
function assertConsistent(f: Fixture): void {
  for (const path of f.index.loadFileStats(f.folderRowId).keys()) {
    const file = f.index.getFile(f.folderRowId, path);
    assert.ok(file);
    const held = f.index.currentRecords(f.folderRowId, locatorFor(f.keys, path));
    const match = held.find((h) => vectorKey(h.version) === vectorKey(file.record.version));
    assert.ok(match, `file row ${path} has no record with its version`);
    const opened = openRecord(f.keys, decodeSealedRecord(match.sealed));
    assert.deepEqual([opened.path, opened.size, opened.deleted, opened.blocks.length], [path, file.record.size, file.record.deleted, file.record.blocks.length]);
  }
}

test('2,000-file tree: exact counts, ignore rules applied, .sealignore counted', async (t) => {
  const f = await fixture(t);
  const totals = await generateTree(f.root, { files: TREE_FILES, maxSize: 8192, ignoredFiles: 20 });
  const started = Date.now();
  const folder = await runFolder(t, f, false);
  const s = folder.status();
  t.diagnostic(`initial scan of ${TREE_FILES} files: ${Date.now() - started} ms`);
  assert.deepEqual(
    [s.state, s.error, s.localFiles, s.localBytes, s.globalFiles, s.globalBytes, s.needFiles],
    ['idle', null, totals.files, totals.bytes, totals.files, totals.bytes, 0],
  );
  assert.equal(f.index.getFile(f.folderRowId, 'build/out1.bin'), undefined, 'ignored directory not indexed');
  assert.equal(f.index.getFile(f.folderRowId, 'd0/ignored0.tmp'), undefined, 'ignored pattern not indexed');
  assert.ok(f.index.getFile(f.folderRowId, '.sealignore'));
  assertConsistent(f);
  const rescanStart = Date.now();
  const seq = f.index.folderSeq(f.folderRowId);
  await folder.scanNow();
  t.diagnostic(`rescan of unchanged tree: ${Date.now() - rescanStart} ms`);
  assert.equal(f.index.folderSeq(f.folderRowId), seq, 'an unchanged rescan writes no record');
});

test('watcher: edit, add, delete and rename are indexed within 5 s', async (t) => {
  const f = await fixture(t);
  const totals = await generateTree(f.root, { files: 200, maxSize: 2048, ignoredFiles: 0 });
  const folder = await runFolder(t, f, true);
  assert.equal(folder.status().localFiles, totals.files);
  const [editPath, deletePath, renamePath] = totals.paths as [string, string, string];
  const fileNow = (p: string) => f.index.getFile(f.folderRowId, p)?.record;
  const waitIndexed = (what: string, ok: () => boolean) =>
    pollUntil(async () => (ok() ? true : undefined), { timeoutMs: WATCH_DEADLINE_MS, intervalMs: 50, description: what });

  const before = fileNow(editPath)?.size ?? 0;
  await appendFile(join(f.root, editPath), 'more bytes');
  await waitIndexed('edit', () => fileNow(editPath)?.size === before + 10);

  await writeFile(join(f.root, 'new-file.txt'), 'brand new');
  await waitIndexed('add', () => fileNow('new-file.txt')?.size === 9);

  await unlink(join(f.root, deletePath));
  await waitIndexed('delete', () => fileNow(deletePath)?.deleted === true);

  await rename(join(f.root, renamePath), join(f.root, 'moved.dat'));
  await waitIndexed('rename', () => fileNow(renamePath)?.deleted === true && fileNow('moved.dat')?.deleted === false);

  const s = folder.status();
  assert.equal(s.localFiles, f.index.localStats(f.folderRowId).files);
  assertConsistent(f);
});

test('kill -9 in the middle of a scan leaves a consistent index; the next scan completes it', async (t) => {
  const f = await fixture(t);
  const totals = await generateTree(f.root, { files: TREE_FILES, maxSize: 4096, ignoredFiles: 0 });
  const secretHex = toHex((f.keys as { secret?: Uint8Array }).secret as Uint8Array);
  f.index.close(); // the child owns the database while it runs
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/e2e/fixtures/local-folder-scan-child.ts'), join(f.dir, 'index.db'), f.root, secretHex], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killedAfter = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child never committed: ${stderr.slice(0, 500)}`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      const line = d.toString();
      if (line.includes('changed') || line.includes('done')) {
        child.kill('SIGKILL');
        clearTimeout(timer);
        resolve(line.trim().split('\n')[0] ?? '');
      }
    });
  });
  await new Promise((r) => child.once('exit', r));
  t.diagnostic(`child killed after: ${killedAfter}`);

  const reopened = openIndex(join(f.dir, 'index.db'));
  const g: Fixture = { ...f, index: reopened };
  t.after(async () => {
    if (reopened.isOpen) reopened.close();
  });
  const partial = reopened.localStats(f.folderRowId).files;
  assert.ok(partial < totals.files, `the kill landed mid-scan (${partial} of ${totals.files} indexed)`);
  assertConsistent(g);

  const folder = await runFolder(t, g, false);
  const s = folder.status();
  assert.deepEqual([s.state, s.localFiles, s.localBytes, s.globalFiles, s.globalBytes], ['idle', totals.files, totals.bytes, totals.files, totals.bytes]);
  assertConsistent(g);
  for (const p of totals.paths.slice(0, 50)) {
    assert.equal(reopened.getFile(f.folderRowId, p)?.record.size, (await stat(join(f.root, p))).size);
  }
});
