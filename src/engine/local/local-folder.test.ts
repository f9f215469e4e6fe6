import type { ScanKeys } from '../../fs/hash-file-sync.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, unlinkSync, renameSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { walkFolder } from '../../fs/walk.js';
import { INLINE_HASH_MAX_BYTES } from '../../fs/hash-pool.js';
import { createLocalFolderServices } from './local-folder-services.js';
import { LocalFolder } from './local-folder.js';
import { hintsWorthScanning } from './watch-echo.js';
import type { FileHasher, HashResult, IgnoreMatcher, LocalFolderFs, WalkOptions } from './local-folder-fs.js';
import type { ScanEntry } from './scan-diff.js';
import { openIndex, type Index } from '../../index/index.js';
import { keysFromSecret, newFolderSecret, deriveReadOnly, locatorFor, toHex, openRecord, decodeSealedRecord, sealRecordBytes, type FolderKeys } from '../../crypto/index.js';
import type { FileRecord } from '../../model/types.js';
import { silentLogger } from '../../logger.js';
import { compareVectors } from '../../model/version-vector.js';
import type { FolderStatus } from '../peer/folder-status.js';

/** What the fake watcher captured: the folder's hint callback (tests call it as the watcher would). */
type Watchers = { onChange: (p: string[], crawled?: ReadonlySet<string>) => void }[];

/** Minimal stand-ins for src/fs: recursive readdir walker, exact-name ignore, one block per file. */
class FakeHasher implements FileHasher {
  inlineMaxBytes = 0;
  calls = 0;
  changeOnce = new Set<string>();
  failWith = new Map<string, string>();
  /** While set, files above inlineMaxBytes (the ones a real pool sends to a worker) wait for it. */
  workerGate: Promise<void> | null = null;
  async hashFile(absPath: string, keys: ScanKeys, opts: { signal?: AbortSignal; sizeHint?: number }): Promise<HashResult> {
    opts.signal?.throwIfAborted();
    this.calls++;
    if (this.workerGate && (opts.sizeHint ?? 0) > this.inlineMaxBytes) await this.workerGate;
    const code = this.failWith.get(absPath);
    if (code) throw Object.assign(new Error(`${code}: cannot open ${absPath}`), { code });
    const data = await readFile(absPath);
    const st = await lstat(absPath);
    const hash = new Uint8Array(createHash('sha256').update(data).digest());
    const id = new Uint8Array(createHash('sha256').update(keys.contentKey).update(hash).digest());
    if (this.changeOnce.delete(absPath)) return { blocks: [], size: 0, mtimeMs: 0, changed: true };
    return { blocks: data.length ? [{ id: keys.sealIds ? id : null, hash, size: data.length }] : [], size: data.length, mtimeMs: st.mtimeMs, changed: false };
  }
}

function fakeFs(watchers: Watchers = []): LocalFolderFs {
  async function* walk(root: string, opts: WalkOptions, rel = ''): AsyncIterable<ScanEntry> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      if (p === '.sealsync') continue;
      const st = await lstat(join(root, p));
      if (opts.ignore.ignores(p, st.isDirectory())) continue;
      const base = { path: p, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode, ino: st.ino, dev: st.dev };
      if (st.isDirectory()) {
        yield { ...base, kind: 'dir', size: 0 };
        try {
          yield* walk(root, opts, p);
        } catch (err) {
          opts.onSkip?.({ path: p, reason: 'unreadable', detail: String(err) });
        }
      } else if (st.isSymbolicLink()) yield { ...base, kind: 'symlink', symlinkTarget: await readlink(join(root, p)) };
      else if (st.isFile()) yield { ...base, kind: 'file' };
    }
  }
  return {
    walk: (root, opts) => walk(root, opts),
    async loadIgnore(root): Promise<IgnoreMatcher> {
      let names: string[] = [];
      try {
        names = (await readFile(join(root, '.sealignore'), 'utf8')).split('\n').filter(Boolean);
      } catch { /* no rules */ }
      return { ignores: (p) => names.some((n) => p === n || p.startsWith(`${n}/`)) };
    },
    createWatcher(_root, opts) {
      return { start: () => { watchers.push(opts); }, stop: () => undefined };
    },
  };
}

interface Harness {
  dir: string;
  root: string;
  index: Index;
  folder: LocalFolder;
  keys: FolderKeys;
  hasher: FakeHasher;
  folderRowId: number;
}

function setup(
  t: { after: (fn: () => Promise<void> | void) => void },
  type: 'rw' | 'ro' = 'rw',
  watchers?: Watchers,
  wrapFs: (fs: LocalFolderFs) => LocalFolderFs = (fs) => fs,
): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'sealsync-lf-'));
  const root = join(dir, 'data');
  mkdirSync(root);
  const rw = keysFromSecret(newFolderSecret());
  const keys = type === 'rw' ? rw : deriveReadOnly(rw);
  const index = openIndex(join(dir, 'index.db'));
  const folderRowId = index.addFolder({ path: root, folderId: toHex(keys.folderId), type }).rowId;
  const hasher = new FakeHasher();
  const folder = new LocalFolder(
    { index, pool: hasher, logger: silentLogger(), fs: wrapFs(fakeFs(watchers)) },
    { path: root, keys, folderRowId, rescanIntervalMs: 60_000, watch: watchers !== undefined },
  );
  t.after(async () => {
    await folder.stop();
    index.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, root, index, folder, keys, hasher, folderRowId };
}

async function started(h: Harness): Promise<void> {
  await h.folder.start();
  await h.folder.scanNow(); // queued after the initial scan: resolves when both are done
}

test('initial scan indexes files, dirs and symlinks with exact counts and sealed records', async (t) => {
  const h = setup(t);
  mkdirSync(join(h.root, 'sub'));
  writeFileSync(join(h.root, 'a.txt'), 'hello');
  writeFileSync(join(h.root, 'sub', 'b.bin'), Buffer.alloc(1000, 7));
  writeFileSync(join(h.root, 'empty'), '');
  symlinkSync('a.txt', join(h.root, 'link'));
  const changed: number[] = [];
  const ranges: [number, number][] = [];
  h.folder.on('changed', (e: { seq: number; fromSeq: number }) => { changed.push(e.seq); ranges.push([e.fromSeq, e.seq]); });
  await started(h);
  // Each commit names its own records' range; together they cover every record once (1..5).
  const covered = ranges.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
  assert.deepEqual(covered, [1, 2, 3, 4, 5]);
  const s = h.folder.status();
  assert.deepEqual([s.state, s.localFiles, s.localBytes, s.globalFiles, s.globalBytes, s.error], ['idle', 3, 1005, 3, 1005, null]);
  assert.ok(changed.length > 0 && changed.at(-1) === 5, `changed events ${changed}`);
  const held = h.index.currentRecords(h.folderRowId, locatorFor(h.keys, 'sub/b.bin'));
  assert.equal(held.length, 1);
  const rec = openRecord(h.keys, decodeSealedRecord(held[0]?.sealed as Uint8Array));
  assert.equal(rec.size, 1000);
  assert.deepEqual(rec.version, [{ id: h.index.vectorId, value: 1 }]);
  assert.equal(h.index.getFile(h.folderRowId, 'link')?.record.symlinkTarget, 'a.txt');
});

test('rescan of an unchanged tree hashes nothing; edits, deletes and renames are versioned', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'a.txt'), 'one');
  writeFileSync(join(h.root, 'b.txt'), 'two');
  await started(h);
  const calls = h.hasher.calls;
  await h.folder.scanNow();
  assert.equal(h.hasher.calls, calls, 'unchanged files are not re-hashed');

  writeFileSync(join(h.root, 'a.txt'), 'one, edited');
  unlinkSync(join(h.root, 'b.txt'));
  mkdirSync(join(h.root, 'd'));
  writeFileSync(join(h.root, 'd', 'c.txt'), 'three');
  await h.folder.scanNow();
  const a = h.index.getFile(h.folderRowId, 'a.txt')?.record;
  assert.equal(a?.size, 11);
  assert.deepEqual(a?.version, [{ id: h.index.vectorId, value: 2 }], 'own counter becomes max+1');
  const b = h.index.getFile(h.folderRowId, 'b.txt')?.record;
  assert.equal(b?.deleted, true);
  assert.deepEqual(b?.blocks, []);
  assert.equal(h.index.currentRecords(h.folderRowId, locatorFor(h.keys, 'b.txt')).length, 1, 'the tombstone replaced the old record');

  renameSync(join(h.root, 'd'), join(h.root, 'e'));
  await h.folder.scanNow({ paths: ['d', 'e'] });
  assert.equal(h.index.getFile(h.folderRowId, 'd/c.txt')?.record.deleted, true);
  assert.equal(h.index.getFile(h.folderRowId, 'e/c.txt')?.record.deleted, false);
  const s = h.folder.status();
  assert.deepEqual([s.localFiles, s.localBytes, s.globalFiles, s.globalBytes], [2, 16, 2, 16]);
});

test('a touch without content change gets no new version', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'a.txt'), 'same');
  await started(h);
  const seq = h.index.folderSeq(h.folderRowId);
  const later = new Date(Date.now() + 5000);
  const { utimesSync } = await import('node:fs');
  utimesSync(join(h.root, 'a.txt'), later, later);
  await h.folder.scanNow();
  assert.equal(h.index.folderSeq(h.folderRowId), seq);
  assert.equal(h.index.getFile(h.folderRowId, 'a.txt')?.diskMtimeMs, statSync(join(h.root, 'a.txt')).mtimeMs);
});

test('a file that changes while hashed is hashed again, never half indexed', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'busy.log'), 'data');
  h.hasher.changeOnce.add(join(h.root, 'busy.log'));
  await started(h);
  assert.equal(h.index.getFile(h.folderRowId, 'busy.log')?.record.size, 4);
  assert.equal(h.hasher.changeOnce.size, 0);
});

test('ignored paths are skipped and a missing root is an error, not a mass delete', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, '.sealignore'), 'tmp\n');
  mkdirSync(join(h.root, 'tmp'));
  writeFileSync(join(h.root, 'tmp', 'x'), 'ignored');
  writeFileSync(join(h.root, 'keep'), 'kept');
  await started(h);
  assert.equal(h.index.getFile(h.folderRowId, 'tmp/x'), undefined);
  assert.equal(h.folder.status().localFiles, 2, '.sealignore counts as a file');
  // The same rules, for the puller.
  assert.equal(h.folder.ignores('tmp', true), true);
  assert.equal(h.folder.ignores('tmp/x', false), true);
  assert.equal(h.folder.ignores('keep', false), false);
  writeFileSync(join(h.root, '.sealignore'), 'keep\n');
  await h.folder.scanNow();
  assert.deepEqual([h.folder.ignores('tmp/x', false), h.folder.ignores('keep', false)], [false, true], 'reloaded by the next scan');
  writeFileSync(join(h.root, '.sealignore'), 'tmp\n');
  await h.folder.scanNow();
  const statuses: FolderStatus[] = [];
  h.folder.on('status', (s: FolderStatus) => statuses.push(s));
  renameSync(h.root, `${h.root}.moved`);
  await assert.rejects(h.folder.scanNow());
  assert.equal(h.folder.status().state, 'error');
  assert.match(h.folder.status().error ?? '', /does not exist/);
  assert.equal(h.index.getFile(h.folderRowId, 'keep')?.record.deleted, false);
  renameSync(`${h.root}.moved`, h.root);
  await h.folder.scanNow();
  assert.deepEqual([h.folder.status().state, h.folder.status().error], ['idle', null]);
  assert.ok(statuses.some((s) => s.state === 'error'));
});

test('read-only folder: local edits are not sealed, they are listed as local changes', async (t) => {
  const h = setup(t, 'ro');
  writeFileSync(join(h.root, 'mine.txt'), 'local');
  await started(h);
  assert.equal(h.index.folderSeq(h.folderRowId), 0, 'nothing sealed');
  const s = h.folder.status();
  assert.deepEqual(s.localChanges, ['mine.txt']);
  assert.equal(s.localFiles, 1);
  assert.equal(s.globalFiles, 0);
});

test('stop aborts a running scan and leaves no work running', async (t) => {
  const h = setup(t);
  for (let i = 0; i < 300; i++) writeFileSync(join(h.root, `f${i}`), `content ${i}`);
  await h.folder.start();
  await h.folder.stop();
  const calls = h.hasher.calls;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.hasher.calls, calls, 'no hashing after stop');
  await assert.rejects(h.folder.scanNow(), /stopped/);
  assert.ok(readFileSync(join(h.root, 'f0'), 'utf8') === 'content 0');
});

test('small files are indexed while every worker slot holds a big file (the walk does not wait for them)', async (t) => {
  const h = setup(t);
  h.hasher.inlineMaxBytes = 100;
  let release!: () => void;
  h.hasher.workerGate = new Promise<void>((r) => { release = r; });
  // Walked first: more big files than the pool has workers (the old bound was 2 x workers = 4).
  for (let i = 0; i < 6; i++) writeFileSync(join(h.root, `a-big${i}`), Buffer.alloc(500, i));
  for (let i = 0; i < 20; i++) writeFileSync(join(h.root, `z-small${i}`), `small ${i}`);
  await h.folder.start();
  const indexed = (p: string) => h.index.currentRecords(h.folderRowId, locatorFor(h.keys, p)).length === 1;
  const deadline = Date.now() + 5000;
  while (!indexed('z-small19') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(indexed('z-small0') && indexed('z-small19'), 'small files recorded while the big ones wait');
  assert.ok(!indexed('a-big0'), 'the big files are still held');
  release();
  await h.folder.scanNow();
  for (let i = 0; i < 6; i++) assert.ok(indexed(`a-big${i}`), `a-big${i} indexed after release`);
  assert.equal(h.folder.status().localFiles, 26);
});

test('a scan that queues many big files on the real pool raises no listener-leak warning', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sealsync-lf-pool-'));
  const root = join(dir, 'data');
  mkdirSync(root);
  const services = createLocalFolderServices({ workers: 1 });
  await services.start();
  const keys = keysFromSecret(newFolderSecret());
  const index = openIndex(join(dir, 'index.db'));
  const folderRowId = index.addFolder({ path: root, folderId: toHex(keys.folderId), type: 'rw' }).rowId;
  const folder = new LocalFolder({ index, pool: services.pool, logger: silentLogger(), fs: services.fs }, { path: root, keys, folderRowId, rescanIntervalMs: 60_000, watch: false });
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(async () => {
    process.off('warning', onWarning);
    await folder.stop();
    await services.stop();
    index.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // Above the inline limit, so each one is a pool job listening to the scan's signal.
  for (let i = 0; i < 40; i++) writeFileSync(join(root, `big${i}`), Buffer.alloc(INLINE_HASH_MAX_BYTES + 1, i));
  await started({ folder } as Harness);
  await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
  assert.equal(folder.status().localFiles, 40);
  assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
});

test('stopping a folder while big files wait in the real pool leaves no unhandled rejection', async (t) => {
  // Each queued file's job rejects with "hashing aborted" when the folder stops; one that
  // rejected while the scan awaited its walk used to be unhandled (fatal in the daemon).
  const rejections: string[] = [];
  const onRejection = (r: unknown) => rejections.push(String(r));
  process.on('unhandledRejection', onRejection);
  t.after(() => { process.off('unhandledRejection', onRejection); });
  for (let round = 0; round < 6; round++) {
    const dir = mkdtempSync(join(tmpdir(), 'sealsync-lf-stop-'));
    const root = join(dir, 'data');
    mkdirSync(root);
    for (let i = 0; i < 60; i++) writeFileSync(join(root, `big${i}`), Buffer.alloc(INLINE_HASH_MAX_BYTES * 4, i));
    const services = createLocalFolderServices({ workers: 1 });
    await services.start();
    const keys = keysFromSecret(newFolderSecret());
    const index = openIndex(join(dir, 'index.db'));
    const folderRowId = index.addFolder({ path: root, folderId: toHex(keys.folderId), type: 'rw' }).rowId;
    const folder = new LocalFolder({ index, pool: services.pool, logger: silentLogger(), fs: services.fs }, { path: root, keys, folderRowId, rescanIntervalMs: 60_000, watch: false });
    await folder.start();
    await new Promise((r) => setTimeout(r, 5 + round * 5)); // stop at different points of the scan
    await folder.stop();
    await services.stop();
    await new Promise((r) => setTimeout(r, 20)); // rejections are reported after a turn
    index.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await new Promise((r) => setTimeout(r, 200)); // a late rejection still lands in this test
  assert.deepEqual(rejections, []);
});

test('paths the puller is writing are neither recorded nor deleted while busy', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'a.txt'), 'one');
  writeFileSync(join(h.root, 'b.txt'), 'two');
  await started(h);
  const busy = new Set(['a.txt', 'b.txt']);
  h.folder.setBusyPaths(busy);
  writeFileSync(join(h.root, 'a.txt'), 'half-written by the puller');
  unlinkSync(join(h.root, 'b.txt'));
  const seq = h.index.folderSeq(h.folderRowId);
  await h.folder.scanNow();
  assert.equal(h.index.folderSeq(h.folderRowId), seq);
  assert.equal(h.index.getFile(h.folderRowId, 'b.txt')?.record.deleted, false);
  busy.clear();
  await h.folder.scanNow();
  assert.equal(h.index.getFile(h.folderRowId, 'a.txt')?.record.size, 26);
  assert.equal(h.index.getFile(h.folderRowId, 'b.txt')?.record.deleted, true);
});

/** A folder whose walk runs `hook.run` once, right after it yields `afterPath` (before the next entry). */
function setupWithWalkHook(t: Parameters<typeof setup>[0], afterPath: string) {
  const hook: { run: (() => void) | null } = { run: null };
  const h = setup(t, 'rw', undefined, (fs) => ({
    ...fs,
    async *walk(root, opts) {
      for await (const e of fs.walk(root, opts)) {
        yield e;
        const run = e.path === afterPath ? hook.run : null;
        if (run) {
          hook.run = null;
          run();
        }
      }
    },
  }));
  return { h, hook };
}

test('a path another writer recorded while the scan walked is not hashed again (the puller echo)', async (t) => {
  const { h, hook } = setupWithWalkHook(t, 'a.txt'); // runs before the walk reaches p.txt
  writeFileSync(join(h.root, 'a.txt'), 'one');
  await started(h);
  // The scan's snapshot is loaded while the puller is applying p.txt: renamed into
  // place, busy, its row not written yet.
  const busy = new Set(['p.txt']);
  h.folder.setBusyPaths(busy);
  writeFileSync(join(h.root, 'p.txt'), 'pulled');
  hook.run = () => {
    // The puller records it during the walk: flush() before its row, then not busy.
    const st = statSync(join(h.root, 'p.txt'));
    h.folder.flush();
    h.index.writeLocalFile(h.folderRowId, {
      record: { path: 'p.txt', kind: 'file', size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode & 0o777, blocks: [], version: [{ id: 'bbbbbbbbbbbbbbbb', value: 1 }], deleted: false },
      diskMtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, localChange: false,
    });
    busy.delete('p.txt');
  };
  const calls = h.hasher.calls;
  await h.folder.scanNow();
  assert.equal(hook.run, null, 'the hook ran');
  assert.equal(h.hasher.calls, calls, 'the file the puller recorded is not read again');
  // A real edit after that is still found.
  writeFileSync(join(h.root, 'p.txt'), 'edited locally');
  await h.folder.scanNow();
  assert.equal(h.hasher.calls, calls + 1);
  assert.equal(h.index.getFile(h.folderRowId, 'p.txt')?.record.size, 14);
});

test('a new path that another writer recorded while the scan walked gets a version above that row', async (t) => {
  const { h, hook } = setupWithWalkHook(t, 'a.txt');
  writeFileSync(join(h.root, 'a.txt'), 'one');
  await started(h);
  // p.txt is new: the next scan's snapshot has no row for it.
  writeFileSync(join(h.root, 'p.txt'), 'local content');
  const theirs = [{ id: 'bbbbbbbbbbbbbbbb', value: 3 }];
  hook.run = () => {
    // Another writer records p.txt (with a stat that differs from the disk) before the walk gets there.
    h.folder.flush();
    h.index.writeLocalFile(h.folderRowId, {
      record: { path: 'p.txt', kind: 'file', size: 1, mtimeMs: 1000, mode: 0o644, blocks: [], version: theirs, deleted: false },
      diskMtimeMs: 1000, ino: 1, dev: 1, localChange: false,
    });
  };
  await h.folder.scanNow();
  assert.equal(hook.run, null, 'the hook ran');
  const row = h.index.getFile(h.folderRowId, 'p.txt');
  assert.equal(row?.record.size, 13);
  // The scan looked the row up (the snapshot was stale): its version follows that row's.
  assert.equal(compareVectors(row!.record.version, theirs), 'greater');
});

test('a row another writer adds while a full scan walks is not taken for a deletion', async (t) => {
  const { h, hook } = setupWithWalkHook(t, 'a.txt');
  writeFileSync(join(h.root, 'a.txt'), 'one');
  await started(h);
  // The walk has passed where late.txt would be listed; another writer (the puller) records it now.
  hook.run = () => {
    h.folder.flush();
    h.index.writeLocalFile(h.folderRowId, {
      record: { path: 'late.txt', kind: 'file', size: 1, mtimeMs: 1000, mode: 0o644, blocks: [], version: [{ id: 'bbbbbbbbbbbbbbbb', value: 1 }], deleted: false },
      diskMtimeMs: 1000, ino: 1, dev: 1, localChange: false,
    });
  };
  await h.folder.scanNow();
  assert.equal(hook.run, null, 'the hook ran');
  assert.equal(h.index.getFile(h.folderRowId, 'late.txt')?.record.deleted, false);
  // The next full scan began after the row: late.txt is not on disk, so now it is a deletion.
  await h.folder.scanNow();
  assert.equal(h.index.getFile(h.folderRowId, 'late.txt')?.record.deleted, true);
});

test('a full scan over many lookup chunks and deletion pages finds exactly the deleted paths', async (t) => {
  const h = setup(t);
  const names: string[] = [];
  for (let d = 0; d < 3; d++) mkdirSync(join(h.root, `d${d}`));
  for (let i = 0; i < 1200; i++) names.push(`d${i % 3}/f${String(i).padStart(4, '0')}`);
  for (const n of names) writeFileSync(join(h.root, n), n);
  await started(h);
  assert.equal(h.folder.status().localFiles, 1200);
  const gone = names.filter((_, i) => i % 7 === 0 || i >= 1190);
  for (const n of gone) unlinkSync(join(h.root, n));
  const calls = h.hasher.calls;
  await h.folder.scanNow();
  assert.equal(h.hasher.calls, calls, 'nothing unchanged is read again');
  assert.equal(h.folder.status().localFiles, 1200 - gone.length);
  const deleted = names.filter((n) => h.index.getFile(h.folderRowId, n)?.record.deleted);
  assert.deepEqual(deleted, gone);
});

test('watcher hints become partial scans; hints outside the folder or internal are dropped', async (t) => {
  const watchers: Watchers = [];
  const h = setup(t, 'rw', watchers);
  writeFileSync(join(h.root, 'a.txt'), 'one');
  await started(h);
  assert.equal(watchers.length, 1);
  const calls = h.hasher.calls;
  writeFileSync(join(h.root, 'b.txt'), 'two');
  writeFileSync(join(h.root, '..x'), 'legal name');
  watchers[0]?.onChange(['b.txt', join(h.root, '..x'), '../outside', '.sealsync/state', '.sealsync-tmp-1']);
  await h.folder.scanNow({ paths: [] }); // queued behind the hint scan
  assert.equal(h.index.getFile(h.folderRowId, 'b.txt')?.record.size, 3);
  assert.equal(h.index.getFile(h.folderRowId, '..x')?.record.size, 10);
  assert.equal(h.hasher.calls, calls + 2, 'only the hinted files were read');
});

test('an unreadable file is listed in the status, skipped, and not taken for a delete', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'ok.txt'), 'fine');
  writeFileSync(join(h.root, 'secret.txt'), 'v1');
  await started(h);
  writeFileSync(join(h.root, 'secret.txt'), 'v2 edited');
  h.hasher.failWith.set(join(h.root, 'secret.txt'), 'EACCES');
  await h.folder.scanNow();
  const s = h.folder.status();
  assert.deepEqual([s.state, s.unreadable], ['idle', ['secret.txt']]);
  const rec = h.index.getFile(h.folderRowId, 'secret.txt')?.record;
  assert.deepEqual([rec?.deleted, rec?.size], [false, 2], 'the last readable version stays');
  h.hasher.failWith.clear();
  await h.folder.scanNow();
  assert.equal(h.folder.status().unreadable, undefined);
  assert.equal(h.index.getFile(h.folderRowId, 'secret.txt')?.record.size, 9);
});

test('a write through one name of a hard link rescans the other names too (the watcher reports one)', async (t) => {
  const watchers: Watchers = [];
  const h = setup(t, 'rw', watchers);
  writeFileSync(join(h.root, 'one.txt'), 'shared inode');
  linkSync(join(h.root, 'one.txt'), join(h.root, 'two.txt'));
  mkdirSync(join(h.root, 'sub'));
  linkSync(join(h.root, 'one.txt'), join(h.root, 'sub', 'three.txt'));
  writeFileSync(join(h.root, 'other.txt'), 'not linked');
  await started(h);
  writeFileSync(join(h.root, 'one.txt'), 'SHARED INODE, edited'); // same inode: all three names change
  watchers[0]?.onChange(['one.txt']);
  await h.folder.scanNow({ paths: [] }); // queued behind the hint scan
  for (const p of ['one.txt', 'two.txt', 'sub/three.txt']) assert.equal(h.index.getFile(h.folderRowId, p)?.record.size, 20, p);
  assert.equal(h.index.getFile(h.folderRowId, 'other.txt')?.record.size, 10);
});

test('a hinted directory that cannot be listed is listed as unreadable, not a folder error, and its files are kept', async (t) => {
  const watchers: Watchers = [];
  let locked = false;
  // The real walker, with its readdir seam failing like EACCES (tests run as root, where chmod 000 does not).
  const h = setup(t, 'rw', watchers, (fs) => ({
    ...fs,
    walk: (root, opts) => walkFolder(root, {
      ...opts,
      readdir: async (abs) => {
        if (locked && abs.endsWith(`${sep}locked`)) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        return readdir(abs);
      },
    }),
  }));
  mkdirSync(join(h.root, 'locked'));
  writeFileSync(join(h.root, 'locked', 'in.txt'), 'inside');
  writeFileSync(join(h.root, 'other.txt'), 'v1');
  await started(h);
  locked = true;
  writeFileSync(join(h.root, 'other.txt'), 'v2, edited');
  watchers[0]?.onChange(['locked', 'other.txt']);
  await h.folder.scanNow({ paths: [] }); // queued behind the hint scan
  const s = h.folder.status();
  assert.deepEqual([s.state, s.error, s.unreadable], ['idle', null, ['locked']]);
  assert.equal(h.index.getFile(h.folderRowId, 'locked/in.txt')?.record.deleted, false, 'not taken for a delete');
  assert.equal(h.index.getFile(h.folderRowId, 'other.txt')?.record.size, 10, 'the rest is still recorded');
  // Readable again: the next hint for it clears the listing (not only the next full scan).
  locked = false;
  writeFileSync(join(h.root, 'locked', 'in.txt'), 'inside, edited');
  watchers[0]?.onChange(['locked']);
  await h.folder.scanNow({ paths: [] });
  assert.equal(h.folder.status().unreadable, undefined);
  assert.equal(h.index.getFile(h.folderRowId, 'locked/in.txt')?.record.size, 14);
});

/** Stores `record` as if a peer had sent it (sealed with the folder's keys). */
function holdRemote(h: Harness, record: FileRecord): void {
  const locator = locatorFor(h.keys, record.path);
  h.index.putRemoteRecord(h.folderRowId, {
    locator, version: record.version, blockIds: record.blocks.flatMap((b) => (b.id ? [b.id] : [])),
    sealed: sealRecordBytes(h.keys, record, locator),
    plain: { kind: record.kind, size: record.size, mtimeMs: record.mtimeMs, deleted: record.deleted },
  });
}

test('a delete supersedes every held version of the content it removed, not only the local one (chaos run)', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'copy.txt'), 'the same conflict copy, made on two devices');
  await started(h);
  const mine = h.index.getFile(h.folderRowId, 'copy.txt');
  assert.ok(mine);
  // Another device made the same file on its own: same content, a concurrent version.
  const locator = locatorFor(h.keys, 'copy.txt');
  const theirs: FileRecord = { ...mine.record, version: [{ id: 'bbbbbbbbbbbbbbbb', value: 1 }] };
  holdRemote(h, theirs);
  assert.equal(h.index.currentRecords(h.folderRowId, locator).length, 2, 'both versions held');
  unlinkSync(join(h.root, 'copy.txt'));
  await h.folder.scanNow();
  const held = h.index.currentRecords(h.folderRowId, locator);
  assert.equal(held.length, 1, 'the tombstone dominates both versions, so neither stays to win over it');
  const tomb = openRecord(h.keys, decodeSealedRecord(held[0]!.sealed));
  assert.equal(tomb.deleted, true);
  assert.equal(compareVectors(tomb.version, theirs.version), 'greater');
  assert.equal(compareVectors(tomb.version, mine.record.version), 'greater');
});

test('a local edit leaves a held version with other content concurrent (a real conflict stays one)', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'f.txt'), 'base');
  await started(h);
  const mine = h.index.getFile(h.folderRowId, 'f.txt');
  assert.ok(mine);
  const theirs: FileRecord = { ...mine.record, size: 5, blocks: [], version: [{ id: 'bbbbbbbbbbbbbbbb', value: 1 }] };
  holdRemote(h, theirs);
  writeFileSync(join(h.root, 'f.txt'), 'edited here');
  await h.folder.scanNow();
  const row = h.index.getFile(h.folderRowId, 'f.txt');
  assert.equal(compareVectors(row!.record.version, theirs.version), 'concurrent', 'their different content is not swallowed');
});

test('watcher hints a scan would find unchanged are dropped; every real change stays a hint', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'same.txt'), 'as indexed');
  writeFileSync(join(h.root, 'edited.txt'), 'v1');
  writeFileSync(join(h.root, 'removed.txt'), 'here');
  mkdirSync(join(h.root, 'dir'));
  writeFileSync(join(h.root, 'dir', 'kept.txt'), 'still here');
  mkdirSync(join(h.root, 'emptied'));
  writeFileSync(join(h.root, 'emptied', 'gone.txt'), 'deleted before the watcher listed the directory');
  mkdirSync(join(h.root, 'replaced'));
  symlinkSync('same.txt', join(h.root, 'link'));
  await started(h);
  unlinkSync(join(h.root, 'emptied', 'gone.txt'));
  writeFileSync(join(h.root, 'edited.txt'), 'v2, longer');
  unlinkSync(join(h.root, 'removed.txt'));
  writeFileSync(join(h.root, 'new.txt'), 'not indexed yet');
  writeFileSync(join(h.root, 'busy.txt'), 'the puller is writing it');
  // Made while the old one still exists, so the new directory cannot reuse its inode.
  mkdirSync(join(h.root, 'replaced-new'));
  renameSync(join(h.root, 'replaced-new'), join(h.root, 'replaced'));
  const deps = { root: h.root, index: h.index, folder: h.folderRowId, isBusy: (p: string) => p === 'busy.txt' };
  const hints = ['', 'same.txt', 'link', 'edited.txt', 'removed.txt', 'never-existed.txt', 'new.txt', 'busy.txt', 'dir', 'emptied', 'replaced', '../outside'];
  assert.deepEqual(hintsWorthScanning(hints, new Set(), deps), ['', 'edited.txt', 'removed.txt', 'new.txt', 'dir', 'emptied', 'replaced', '../outside'],
    'a directory not listed by the watcher keeps its recursive scan');
  assert.deepEqual(hintsWorthScanning(hints, new Set(['dir', 'emptied', 'replaced']), deps), ['', 'edited.txt', 'removed.txt', 'new.txt', 'emptied', 'replaced', '../outside'],
    'a listed directory with its indexed inode and entries is dropped; one missing an indexed entry, or replaced under the same name, is not');
});

test('the echo of unchanged paths runs no scan: the folder never says scanning, and a real edit is still found', async (t) => {
  const watchers: Watchers = [];
  const h = setup(t, 'rw', watchers);
  mkdirSync(join(h.root, 'sub'));
  writeFileSync(join(h.root, 'sub', 'a.txt'), 'pulled');
  await started(h);
  const states: string[] = [];
  h.folder.on('status', (s: FolderStatus) => states.push(s.state));
  const hashed = h.hasher.calls;
  watchers[0]?.onChange(['sub', 'sub/a.txt'], new Set(['sub']));
  await h.folder.scanNow({ paths: [] }); // queued behind the hint job
  const echoStates = states.splice(0);
  assert.equal(h.hasher.calls, hashed, 'nothing hashed');
  // The queued empty scan itself reports scanning once; the echo added no scan of its own.
  assert.equal(echoStates.filter((s) => s === 'scanning').length, 1, `one scan (the test's own), got ${JSON.stringify(echoStates)}`);
  writeFileSync(join(h.root, 'sub', 'a.txt'), 'edited locally');
  watchers[0]?.onChange(['sub/a.txt'], new Set());
  await h.folder.scanNow({ paths: [] });
  assert.equal(h.index.getFile(h.folderRowId, 'sub/a.txt')?.record.size, 14, 'the edit is recorded');
});

test('without an encrypted peer records withhold block ids; when one joins, a scan completes them in place', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'a.txt'), 'hello');
  mkdirSync(join(h.root, 'sub'));
  writeFileSync(join(h.root, 'sub', 'b.bin'), Buffer.alloc(1000, 7));
  await started(h);
  const before = h.index.recordsSince(h.folderRowId, 0, 100);
  const fileRows = () => ['a.txt', 'sub/b.bin'].map((p) => h.index.getFile(h.folderRowId, p)!);
  assert.ok(fileRows().every((f) => f.record.blocks.length === 1 && f.record.blocks[0]!.id === null), 'rows hold no ids');
  const opened = (sealed: Uint8Array) => openRecord(h.keys, decodeSealedRecord(sealed));
  const withheld = before.filter((r) => opened(r.sealed).kind === 'file');
  assert.equal(withheld.length, 2);
  assert.ok(withheld.every((r) => decodeSealedRecord(r.sealed).idsWithheld === true && r.blockIds.length === 0));
  const callsBefore = h.hasher.calls;
  // A rescan does not rehash them while the folder has no encrypted peer.
  await h.folder.scanNow();
  assert.equal(h.hasher.calls, callsBefore);

  h.folder.sealBlockIds();
  await h.folder.scanNow(); // queued after the completing scan
  assert.equal(h.hasher.calls, callsBefore + 2, 'each withheld file hashed once more, sealed');
  const after = h.index.recordsSince(h.folderRowId, before.at(-1)!.seq, 100);
  assert.equal(after.length, 2, 'two completed records under new seqs, nothing else');
  for (const r of after) {
    const rec = opened(r.sealed);
    const old = withheld.find((w) => opened(w.sealed).path === rec.path)!;
    assert.equal(compareVectors(rec.version, old.version), 'equal', 'the same version');
    assert.equal(decodeSealedRecord(r.sealed).idsWithheld, undefined);
    assert.deepEqual(r.blockIds, rec.blocks.map((b) => b.id));
    assert.deepEqual(rec.blocks.map((b) => b.hash), opened(old.sealed).blocks.map((b) => b.hash));
    assert.equal(h.index.currentRecords(h.folderRowId, r.locator).length, 1, 'the withheld row was replaced');
  }
  assert.ok(fileRows().every((f) => f.record.blocks[0]!.id !== null), 'file rows got the ids');
  assert.ok(h.index.findBlockById(fileRows()[1]!.record.blocks[0]!.id!), 'blocks can be served by id');
  // From now on new files are sealed at once, and nothing is completed twice.
  writeFileSync(join(h.root, 'c.txt'), 'new');
  await h.folder.scanNow();
  const c = h.index.getFile(h.folderRowId, 'c.txt')!;
  assert.notEqual(c.record.blocks[0]!.id, null);
  assert.equal(h.index.recordsSince(h.folderRowId, after.at(-1)!.seq, 100).length, 1);
  h.folder.sealBlockIds(); // already marked: no full scan
  await h.folder.scanNow();
  assert.equal(h.index.recordsSince(h.folderRowId, after.at(-1)!.seq, 100).length, 1);
});

test('an encrypted peer that joins before the folder starts still makes its first scan seal', async (t) => {
  const h = setup(t);
  writeFileSync(join(h.root, 'a.txt'), 'hello');
  h.folder.sealBlockIds(); // stopped: nothing runs, but the folder is marked
  assert.equal(h.index.sealsBlockIds(h.folderRowId), true);
  await started(h);
  const row = h.index.getFile(h.folderRowId, 'a.txt');
  assert.ok(row && row.record.blocks[0]!.id !== null, 'the first scan sealed the block');
  const held = h.index.currentRecords(h.folderRowId, locatorFor(h.keys, 'a.txt'));
  assert.equal(decodeSealedRecord(held[0]!.sealed).idsWithheld, undefined);
});
