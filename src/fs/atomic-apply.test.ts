import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import type { BlockRef, FileRecord } from '../model/types.js';
import { ARCHIVE_REL } from './archive.js';
import { KNOWN_MISSING, RESUME_MIN_BYTES, applyRecord, tempNameFor, type BlockFetcher, type KnownLocal } from './atomic-apply.js';
import { TEMP_PREFIX, cleanStaleTemps } from './temp-files.js';

const sha = (d: Uint8Array): Uint8Array => createHash('sha256').update(d).digest();
const NOW = () => new Date(Date.UTC(2026, 10, 26, 12, 0, 0));
const MTIME = Date.UTC(2025, 0, 2, 3, 4, 5);

function chunk(data: Buffer, size: number): { blocks: BlockRef[]; parts: Buffer[] } {
  const parts: Buffer[] = [];
  for (let o = 0; o < data.length; o += size) parts.push(data.subarray(o, o + size));
  return { parts, blocks: parts.map((p) => ({ id: sha(Buffer.concat([Buffer.from('id'), p])), hash: sha(p), size: p.length })) };
}

function fileRecord(path: string, data: Buffer, blockSize = 64 * 1024, extra: Partial<FileRecord> = {}) {
  const { blocks, parts } = chunk(data, blockSize);
  const record: FileRecord = {
    path, kind: 'file', size: data.length, mtimeMs: MTIME, mode: 0o644, blocks,
    version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false, ...extra,
  };
  let calls = 0;
  const fetchBlock: BlockFetcher = async (_ref, i) => {
    calls++;
    return parts[i]!;
  };
  return { record, parts, fetchBlock, calls: () => calls };
}

async function tmpRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sealsync-apply-'));
}

async function known(abs: string): Promise<KnownLocal> {
  const st = await lstat(abs);
  return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs };
}

test('a new file is written with its content, mode and mtime, and no temp file is left', async () => {
  const root = await tmpRoot();
  try {
    const data = randomBytes(300_000);
    const f = fileRecord('dir/sub/new.bin', data, 50_000, { mode: 0o755 });
    const r = await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, now: NOW });
    assert.equal(r.status, 'applied');
    assert.deepEqual(await readFile(join(root, 'dir/sub/new.bin')), data);
    const st = await stat(join(root, 'dir/sub/new.bin'));
    assert.equal(st.mode & 0o777, 0o755);
    assert.equal(Math.floor(st.mtimeMs), MTIME);
    assert.deepEqual((await readdir(join(root, 'dir/sub'))).filter((n) => n.startsWith(TEMP_PREFIX)), []);
    assert.equal(f.calls(), 6);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("a file's whole-millisecond mtime reads back as that millisecond (utimes takes a double of seconds)", async () => {
  const root = await tmpRoot();
  try {
    // Without a nudge about half of these landed just below the millisecond (…987.9999 for …988).
    for (let i = 0; i < 20; i++) {
      const mtimeMs = Date.UTC(2026, 10, 26, 23, 57, 53) + 981 + i;
      const f = fileRecord(`m${i}.txt`, Buffer.from(`mtime ${i}`), 64 * 1024, { mtimeMs });
      assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, now: NOW })).status, 'applied');
      assert.equal(Math.floor((await stat(join(root, `m${i}.txt`))).mtimeMs), mtimeMs);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('extreme mtimes (the epoch, before 1970, 2100, 2400) read back exactly: a negative one is not turned into now', async () => {
  const root = await tmpRoot();
  try {
    const cases = [0, -1, -999_999_999_750, -86_400_000 * 365 * 60 + 7, 4_102_444_800_250, 13_569_465_600_500];
    for (const [i, mtimeMs] of cases.entries()) {
      const f = fileRecord(`x${i}.txt`, Buffer.from(`extreme ${i}`), 64 * 1024, { mtimeMs });
      assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, now: NOW })).status, 'applied');
      assert.equal(Math.floor((await stat(join(root, `x${i}.txt`))).mtimeMs), mtimeMs, String(mtimeMs));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('all-zero blocks are not written: a sparse file keeps its holes (middle and end) and its exact content', async () => {
  const root = await tmpRoot();
  try {
    const block = 1024 * 1024;
    const data = Buffer.alloc(6 * block);
    data.fill(0x5a, 0, block);
    data.fill(0x33, 3 * block, 4 * block);
    const f = fileRecord('sparse.img', data, block);
    assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, now: NOW })).status, 'applied');
    assert.deepEqual(await readFile(join(root, 'sparse.img')), data);
    const st = await stat(join(root, 'sparse.img'));
    assert.equal(st.size, data.length, 'trailing zero blocks still count in the size');
    assert.ok(st.blocks * 512 <= 2 * block + 64 * 1024, `allocated ${st.blocks * 512} bytes for 2 MiB of data`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an empty file has no blocks and needs no fetcher', async () => {
  const root = await tmpRoot();
  try {
    const f = fileRecord('empty', Buffer.alloc(0));
    assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, now: NOW })).status, 'applied');
    assert.equal((await stat(join(root, 'empty'))).size, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('replacing a file archives the previous content', async () => {
  const root = await tmpRoot();
  try {
    await writeFile(join(root, 'a.txt'), 'old');
    const f = fileRecord('a.txt', Buffer.from('new content'));
    const r = await applyRecord(root, f.record, { known: await known(join(root, 'a.txt')), fetchBlock: f.fetchBlock, now: NOW });
    assert.equal(r.status, 'applied');
    assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'new content');
    assert.ok(r.status === 'applied' && r.archived === `${ARCHIVE_REL}/a~20261126-120000.txt`);
    assert.equal(await readFile(join(root, ARCHIVE_REL, 'a~20261126-120000.txt'), 'utf8'), 'old');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a local edit during the transfer is a conflict, never an overwrite, and leaves no temp file', async () => {
  const root = await tmpRoot();
  try {
    await writeFile(join(root, 'a.txt'), 'original');
    const k = await known(join(root, 'a.txt'));
    const f = fileRecord('a.txt', randomBytes(10_000), 1000);
    let edited = false;
    const fetchBlock: BlockFetcher = async (ref, i, o) => {
      if (!edited) {
        edited = true;
        await writeFile(join(root, 'a.txt'), 'edited locally meanwhile');
      }
      return f.fetchBlock(ref, i, o);
    };
    const r = await applyRecord(root, f.record, { known: k, fetchBlock, now: NOW });
    assert.equal(r.status, 'conflict');
    assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'edited locally meanwhile');
    // something appearing where the index knows nothing is a conflict too
    await writeFile(join(root, 'b.txt'), 'new local');
    const g = fileRecord('b.txt', Buffer.from('remote'));
    assert.equal((await applyRecord(root, g.record, { known: KNOWN_MISSING, fetchBlock: g.fetchBlock, now: NOW })).status, 'conflict');
    assert.equal(await readFile(join(root, 'b.txt'), 'utf8'), 'new local');
    // The refused transfers leave no temp file (a later pass may find the local file identical and never rename it).
    assert.deepEqual((await readdir(root)).filter((n) => n.startsWith(TEMP_PREFIX)), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('an interrupted large transfer resumes from its temp file without re-fetching written blocks', async () => {
  const root = await tmpRoot();
  try {
    const data = randomBytes(RESUME_MIN_BYTES * 2);
    const f = fileRecord('big.bin', data, 64 * 1024); // 32 blocks
    const failAfter = 10;
    let n = 0;
    const flaky: BlockFetcher = async (ref, i, o) => {
      if (++n > failAfter) throw new Error('peer went away');
      return f.fetchBlock(ref, i, o);
    };
    await assert.rejects(applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: flaky, hashBlock: sha, now: NOW }), /peer went away/);
    const tmp = join(root, tempNameFor('big.bin', f.record.version));
    assert.ok((await lstat(tmp)).isFile(), 'temp file kept for resume');
    await assert.rejects(lstat(join(root, 'big.bin')));
    let fetched = 0;
    const counting: BlockFetcher = async (ref, i, o) => {
      fetched++;
      return f.fetchBlock(ref, i, o);
    };
    const r = await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: counting, hashBlock: sha, now: NOW });
    assert.equal(r.status, 'applied');
    assert.ok(r.status === 'applied' && r.reusedBytes === failAfter * 64 * 1024, `reused ${r.status === 'applied' && r.reusedBytes}`);
    assert.equal(fetched, 32 - failAfter);
    assert.deepEqual(await readFile(join(root, 'big.bin')), data);
    await assert.rejects(lstat(tmp));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a block of the wrong size is refused and the target is untouched', async () => {
  const root = await tmpRoot();
  try {
    const f = fileRecord('x.bin', randomBytes(1000), 100);
    const bad: BlockFetcher = async () => new Uint8Array(99);
    await assert.rejects(applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: bad, now: NOW }), (e) => isSealsyncError(e, 'ERR_BLOCK_ID'));
    assert.deepEqual(await readdir(root), [], 'small transfer leaves no temp');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a file record never writes through an existing symlink', async () => {
  const root = await tmpRoot();
  const outside = await tmpRoot();
  try {
    await writeFile(join(outside, 'victim'), 'precious');
    await symlink(join(outside, 'victim'), join(root, 'link'));
    const f = fileRecord('link', Buffer.from('payload'));
    const r = await applyRecord(root, f.record, { known: { kind: 'symlink' }, fetchBlock: f.fetchBlock, now: NOW });
    assert.equal(r.status, 'applied');
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'precious');
    assert.ok((await lstat(join(root, 'link'))).isFile());
    // and never through a symlinked parent
    await symlink(outside, join(root, 'dirlink'));
    const g = fileRecord('dirlink/victim', Buffer.from('payload'));
    await assert.rejects(applyRecord(root, g.record, { known: KNOWN_MISSING, fetchBlock: g.fetchBlock, now: NOW }), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'precious');
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('symlinks are created verbatim and replace an existing link, not its target', async () => {
  const root = await tmpRoot();
  try {
    const base = { kind: 'symlink' as const, size: 0, mtimeMs: MTIME, mode: 0o777, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false };
    assert.equal((await applyRecord(root, { ...base, path: 'l', symlinkTarget: '../outside/thing' }, { known: KNOWN_MISSING })).status, 'applied');
    assert.equal(await readlink(join(root, 'l')), '../outside/thing');
    await mkdir(join(root, 'realdir'));
    const r = await applyRecord(root, { ...base, path: 'l', symlinkTarget: 'realdir' }, { known: { kind: 'symlink', symlinkTarget: '../outside/thing' } });
    assert.equal(r.status, 'applied');
    assert.equal(await readlink(join(root, 'l')), 'realdir');
    assert.deepEqual(await readdir(join(root, 'realdir')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a file from a peer takes only the exec bit of its mode, masked by the local umask', async () => {
  const root = await tmpRoot();
  try {
    const cases: Array<[number, number, number]> = [
      // record mode, umask, expected mode on disk
      [0o777, 0o022, 0o755], [0o666, 0o022, 0o644], [0o700, 0o022, 0o755], [0o600, 0o022, 0o644],
      [0o755, 0o077, 0o700], [0o644, 0o002, 0o664], [0o011, 0o022, 0o644], [0o777, 0o000, 0o777],
    ];
    for (const [mode, umask, expected] of cases) {
      const name = `m${mode.toString(8)}-u${umask.toString(8)}`;
      const f = fileRecord(name, Buffer.from(name), 1000, { mode });
      assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, umask })).status, 'applied');
      assert.equal((await stat(join(root, name))).mode & 0o7777, expected, name);
    }
    // setuid, setgid and sticky never reach the disk, even if a record carried them.
    const f = fileRecord('suid', Buffer.from('x'), 1000, { mode: 0o7777 });
    assert.equal((await applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock, umask: 0 })).status, 'applied');
    assert.equal((await stat(join(root, 'suid'))).mode & 0o7777, 0o777);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('directories get the local default mode, whatever the record says; tombstones archive files and remove empty directories', async () => {
  const root = await tmpRoot();
  try {
    const v = [{ id: 'aaaaaaaaaaaaaaaa', value: 2 }];
    const dir: FileRecord = { path: 'd/e', kind: 'dir', size: 0, mtimeMs: MTIME, mode: 0o750, blocks: [], version: v, deleted: false };
    assert.equal((await applyRecord(root, dir, { known: KNOWN_MISSING, umask: 0o027 })).status, 'applied');
    assert.equal((await stat(join(root, 'd/e'))).mode & 0o777, 0o750);
    const open: FileRecord = { ...dir, path: 'd/open', mode: 0o777 };
    assert.equal((await applyRecord(root, open, { known: KNOWN_MISSING, umask: 0o022 })).status, 'applied');
    assert.equal((await stat(join(root, 'd/open'))).mode & 0o777, 0o755, 'a peer cannot make a directory world-writable');
    await chmod(join(root, 'd/open'), 0o700);
    assert.equal((await applyRecord(root, { ...open, version: [{ id: 'aaaaaaaaaaaaaaaa', value: 3 }] }, { known: { kind: 'dir' }, umask: 0 })).status, 'applied');
    assert.equal((await stat(join(root, 'd/open'))).mode & 0o777, 0o700, 'an existing directory keeps its mode');
    await rm(join(root, 'd/open'), { recursive: true });
    await writeFile(join(root, 'd/e/f.txt'), 'bye');
    const tomb = (path: string, kind: FileRecord['kind']): FileRecord => ({ path, kind, size: 0, mtimeMs: MTIME, mode: 0, blocks: [], version: v, deleted: true });
    // directory not empty: conflict, nothing removed
    assert.equal((await applyRecord(root, tomb('d/e', 'dir'), { known: { kind: 'dir' } })).status, 'conflict');
    const r = await applyRecord(root, tomb('d/e/f.txt', 'file'), { known: await known(join(root, 'd/e/f.txt')), now: NOW });
    assert.ok(r.status === 'applied' && r.archived === `${ARCHIVE_REL}/d/e/f~20261126-120000.txt`);
    assert.equal((await applyRecord(root, tomb('d/e', 'dir'), { known: { kind: 'dir' } })).status, 'applied');
    await assert.rejects(lstat(join(root, 'd/e')));
    // deleting what is already gone is fine
    assert.equal((await applyRecord(root, tomb('nope/x', 'file'), { known: KNOWN_MISSING })).status, 'applied');
    // a file modified locally since the last scan survives a remote delete
    await writeFile(join(root, 'keep.txt'), 'v1');
    const k = await known(join(root, 'keep.txt'));
    await writeFile(join(root, 'keep.txt'), 'v2 longer');
    assert.equal((await applyRecord(root, tomb('keep.txt', 'file'), { known: k })).status, 'conflict');
    assert.equal(await readFile(join(root, 'keep.txt'), 'utf8'), 'v2 longer');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a record with inconsistent sizes is rejected before anything is written', async () => {
  const root = await tmpRoot();
  try {
    const f = fileRecord('x', Buffer.from('abc'));
    await assert.rejects(applyRecord(root, { ...f.record, size: 4 }, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock }), (e) => isSealsyncError(e, 'ERR_FORMAT_TRUNCATED'));
    assert.deepEqual(await readdir(root), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('cleanStaleTemps removes only old temp files, not fresh ones, other files or the private directory', async () => {
  const root = await tmpRoot();
  try {
    await mkdir(join(root, 'd/e'), { recursive: true });
    await mkdir(join(root, '.sealsync'));
    const old = new Date(Date.UTC(2026, 0, 1));
    for (const p of ['d/e/.sealsync-tmp-old', '.sealsync/.sealsync-tmp-private', 'd/keep.txt']) {
      await writeFile(join(root, p), 'x');
      await utimes(join(root, p), old, old);
    }
    await writeFile(join(root, 'd/.sealsync-tmp-fresh'), 'x');
    const removed = await cleanStaleTemps(root, Date.UTC(2026, 0, 3));
    assert.equal(removed, 1);
    await assert.rejects(lstat(join(root, 'd/e/.sealsync-tmp-old')));
    for (const p of ['.sealsync/.sealsync-tmp-private', 'd/keep.txt']) assert.ok((await lstat(join(root, p))).isFile(), p);
    assert.equal(await cleanStaleTemps(root, Date.now() + 2 * 86_400_000), 1, 'the fresh one once it is old');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a symlink or directory planted at the temp name is refused, never written through', async () => {
  const root = await tmpRoot();
  const outside = await tmpRoot();
  try {
    const f = fileRecord('x.bin', randomBytes(1000));
    const tmp = join(root, tempNameFor('x.bin', f.record.version));
    await writeFile(join(outside, 'victim'), 'precious');
    await symlink(join(outside, 'victim'), tmp);
    await assert.rejects(applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock }), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'precious');
    await rm(tmp);
    await mkdir(tmp);
    await assert.rejects(applyRecord(root, f.record, { known: KNOWN_MISSING, fetchBlock: f.fetchBlock }), (e) => isSealsyncError(e, 'ERR_PATH_UNSAFE'));
  } finally {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('entries are written into and removed from a read-only directory (as a non-root user), whose mode is kept', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to run the child as an unprivileged user (root ignores directory permissions)');
    return;
  }
  const NOBODY = 65534;
  const root = await tmpRoot();
  try {
    const { chown } = await import('node:fs/promises');
    await chown(root, NOBODY, NOBODY);
    const here = new URL('./atomic-apply.ts', import.meta.url).pathname;
    const script = `
      import { applyRecord } from ${JSON.stringify(here)};
      import { chmod, mkdir, writeFile } from 'node:fs/promises';
      import { join } from 'node:path';
      const root = ${JSON.stringify(root)};
      const v = [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }];
      const data = Buffer.from('inside a read-only dir');
      const { createHash } = await import('node:crypto');
      const block = { id: new Uint8Array(32), hash: createHash('sha256').update(data).digest(), size: data.length };
      await applyRecord(root, { path: 'ro', kind: 'dir', size: 0, mtimeMs: 0, mode: 0o555, blocks: [], version: v, deleted: false }, { known: { kind: 'missing' } });
      await chmod(join(root, 'ro'), 0o555); // made read-only here (a peer's mode bits never reach a directory)
      const f = { path: 'ro/f.txt', kind: 'file', size: data.length, mtimeMs: 1_700_000_000_000, mode: 0o444, blocks: [block], version: v, deleted: false };
      const r1 = await applyRecord(root, f, { known: { kind: 'missing' }, fetchBlock: async () => data });
      const r2 = await applyRecord(root, { ...f, deleted: true, blocks: [], size: 0 }, { known: { kind: 'file' } });
      process.stdout.write(JSON.stringify([r1.status, r2.status]));
    `;
    const { spawnSync } = await import('node:child_process');
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { uid: NOBODY, gid: NOBODY, encoding: 'utf8', cwd: process.cwd() });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, JSON.stringify(['applied', 'applied']));
    assert.equal((await stat(join(root, 'ro'))).mode & 0o777, 0o555, 'the directory keeps its mode');
    assert.deepEqual(await readdir(join(root, 'ro')), [], 'the file was written, then deleted (archived)');
    assert.equal((await readdir(join(root, '.sealsync/archive/ro'))).length, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
