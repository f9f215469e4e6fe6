/**
 * Two full peers, end to end with real daemons on 127.0.0.1:
 *
 *   A (W) ◄──► B (W)        and later   A (W) ──► R (R)
 *
 * A mixed tree (empty files and dirs, a 20 MiB file, 500 small files, deep
 * paths, Unicode names, symlinks, exec bits) syncs A → B and must compare
 * exactly (content, modes, symlink targets). Edits, deletes, renames and a
 * directory move on B come back to A. Both edit one file while B is down: both
 * contents survive identically on both sides and B's archive holds the
 * version it replaced. A read-only peer gets everything, its local edit is
 * never sent, and `folder revert` restores it.
 *
 * SEALSYNC_E2E_FULL=1 uses a 100 MiB file and 5,000 small files (run by hand).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { snapshotTree } from '../../src/engine/testing/sync-device.js';
import { pollUntil, scanSettled, TestHome, type DaemonProcess } from './helpers/harness.js';

const FULL = process.env.SEALSYNC_E2E_FULL === '1';
const BIG_BYTES = (FULL ? 100 : 20) * 1024 * 1024;
const SMALL_FILES = FULL ? 5000 : 500;
const SYNC_TIMEOUT_MS = FULL ? 300_000 : 60_000;
const DEEP_LEVELS = 24;
/** The daemons inherit this process's umask. */
const LOCAL_UMASK = process.umask();

const synced = (f: FolderStatus) => f.state === 'idle' && f.needFiles === 0 && f.error === null;

/** A snapshot taken while the daemon may rename files underneath (retried on a vanishing entry). */
async function snapshot(root: string): Promise<Record<string, string>> {
  for (let i = 0; ; i++) {
    try {
      return await snapshotTree(root);
    } catch (err) {
      if (i >= 20 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Waits until both trees are identical; the error shows the first differences. */
async function converge(x: string, y: string, what: string, timeoutMs = SYNC_TIMEOUT_MS): Promise<Record<string, string>> {
  let diff = '';
  return pollUntil(async () => {
    const [sx, sy] = await Promise.all([snapshot(x), snapshot(y)]);
    const keys = new Set([...Object.keys(sx), ...Object.keys(sy)]);
    const bad = [...keys].filter((k) => sx[k] !== sy[k]);
    diff = bad.slice(0, 5).map((k) => `${k}: ${sx[k] ?? '-'} vs ${sy[k] ?? '-'}`).join('; ');
    return bad.length === 0 ? sx : undefined;
  }, { timeoutMs, intervalMs: 250, description: what, last: () => diff });
}

async function writeMixedTree(root: string): Promise<void> {
  await mkdir(join(root, 'empty-dir/nested-empty'), { recursive: true });
  await writeFile(join(root, 'empty.txt'), '');
  await mkdir(join(root, 'media'));
  await writeFile(join(root, 'media', 'big.bin'), randomBytes(BIG_BYTES));
  for (let i = 0; i < SMALL_FILES; i++) {
    const dir = join(root, 'small', `d${i % 20}`);
    if (i < 20) await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `f${i}.txt`), `small file ${i}\n${'x'.repeat(i % 300)}`);
  }
  let deep = join(root, 'deep');
  for (let i = 0; i < DEEP_LEVELS; i++) deep = join(deep, `level-${i}`);
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, 'bottom.txt'), 'at the bottom');
  await mkdir(join(root, 'Ünïcødé – 名前'));
  await writeFile(join(root, 'Ünïcødé – 名前', 'résumé ✓.txt'), 'unicode content ✓');
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hello\n');
  await chmod(join(root, 'run.sh'), 0o755);
  await writeFile(join(root, 'private.txt'), 'only me');
  await chmod(join(root, 'private.txt'), 0o600);
  await symlink('media/big.bin', join(root, 'link-to-big'));
  await symlink('../outside/absent', join(root, 'dangling-link'));
  await symlink('small', join(root, 'dir-link'));
}

describe('two full peers', () => {
  let a: TestHome;
  let b: TestHome;
  let r: TestHome;
  let dB: DaemonProcess;
  let dirA: string;
  let dirB: string;
  let dirR: string;
  let wKey = '';

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    b = await TestHome.create({ name: 'b', root: a.root });
    r = await TestHome.create({ name: 'r', root: a.root });
    dirA = join(a.root, 'folder-a');
    dirB = join(a.root, 'folder-b');
    dirR = join(a.root, 'folder-r');
    await mkdir(dirA);
    await mkdir(dirB);
    await mkdir(dirR);
    await writeMixedTree(dirA);
    [, dB] = await Promise.all([a.startDaemon(), b.startDaemon()]);
  });
  after(async () => {
    await r.cleanup();
    await b.cleanup();
    await a.cleanup();
  });

  test('a mixed tree syncs A → B exactly', async (t) => {
    wKey = (await a.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
    assert.match(wKey, /^W/);
    await a.cliOk(['folder', 'add', dirA, '--key', wKey]);
    await a.waitForFolder(dirA, (f) => scanSettled(f) && f.localFiles >= SMALL_FILES, { timeoutMs: SYNC_TIMEOUT_MS, description: 'A scanned' });
    await b.cliOk(['folder', 'add', dirB, '--key', wKey]);
    const started = Date.now();
    await b.cliOk(['peer', 'add', await a.listenAddress()]);
    await b.waitForFolder(dirB, (f) => synced(f) && f.localFiles >= SMALL_FILES + 5, { timeoutMs: SYNC_TIMEOUT_MS, description: 'B has everything' });
    const tree = await converge(dirA, dirB, 'B identical to A');
    t.diagnostic(`initial sync of ${SMALL_FILES} small files + ${BIG_BYTES >> 20} MiB: ${Date.now() - started} ms`);
    assert.equal(tree['run.sh']?.startsWith('file:x:'), true, 'exec bit kept');
    // Only the exec bit travels (model/file-mode.ts): B's copy gets B's own default mode.
    assert.equal((await stat(join(dirB, 'run.sh'))).mode & 0o777, 0o777 & ~LOCAL_UMASK);
    assert.equal((await stat(join(dirA, 'private.txt'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dirB, 'private.txt'))).mode & 0o777, 0o666 & ~LOCAL_UMASK, "A's private bits are not B's business");
    assert.equal(tree['dangling-link'], 'link:../outside/absent', 'symlink stored verbatim');
    assert.equal(tree['empty-dir/nested-empty'], 'dir', 'empty directories');
    const fb = (await b.status()).folders.find((f) => f.path === dirB);
    const fa = (await a.status()).folders.find((f) => f.path === dirA);
    assert.deepEqual([fb?.localFiles, fb?.localBytes], [fa?.localFiles, fa?.localBytes]);
  });

  test('edits, deletes, renames and a directory move on B come back to A', async () => {
    await writeFile(join(dirB, 'small/d1/f1.txt'), 'edited on B');
    await rm(join(dirB, 'small/d2/f2.txt'));
    await rename(join(dirB, 'small/d3/f3.txt'), join(dirB, 'small/d3/f3-renamed.txt'));
    await rename(join(dirB, 'Ünïcødé – 名前'), join(dirB, 'moved-unicode'));
    await mkdir(join(dirB, 'new-dir'));
    await writeFile(join(dirB, 'new-dir', 'new.txt'), 'brand new');
    await converge(dirA, dirB, 'A has B\'s changes');
    assert.equal(await readFile(join(dirA, 'small/d1/f1.txt'), 'utf8'), 'edited on B');
    assert.equal(await readFile(join(dirA, 'moved-unicode', 'résumé ✓.txt'), 'utf8'), 'unicode content ✓');
    const archived = await readdir(join(dirA, '.sealsync/archive/small/d1'));
    assert.ok(archived.some((n) => /^f1~\d{8}-\d{6}(-\d+)?\.txt$/.test(n)), `archive holds the previous f1.txt: ${archived.join(',')}`);
  });

  test('both edit one file while B is down: both contents survive identically on both sides', async () => {
    await dB.stop();
    const file = 'small/d5/f5.txt';
    await writeFile(join(dirA, file), 'edit made on A');
    await utimes(join(dirA, file), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
    await writeFile(join(dirB, file), 'edit made on B, later');
    await utimes(join(dirB, file), new Date('2026-01-02T00:00:00Z'), new Date('2026-01-02T00:00:00Z'));
    // A must have recorded its edit before B comes back.
    await pollUntil(async () => ((await a.status()).folders.find((f) => f.path === dirA)?.state === 'unshared' ? true : undefined), { description: 'A scanned its edit (B is down: unshared)' });
    await new Promise((res) => setTimeout(res, 1500));
    dB = await b.startDaemon();
    const tree = await converge(dirA, dirB, 'both sides agree after the conflict');
    const copies = Object.keys(tree).filter((p) => p.startsWith('small/d5/f5.sync-conflict-'));
    assert.equal(copies.length, 1, `one conflict copy: ${Object.keys(tree).filter((p) => p.startsWith('small/d5/')).join(', ')}`);
    const contents = [await readFile(join(dirA, file), 'utf8'), await readFile(join(dirA, copies[0]!), 'utf8')].sort();
    assert.deepEqual(contents, ['edit made on A', 'edit made on B, later']);
    assert.equal(await readFile(join(dirA, file), 'utf8'), 'edit made on B, later', 'the newer edit wins the name');
  });

  test('a read-only peer gets everything, never sends its edits, and revert restores it', async () => {
    await r.startDaemon();
    const rKey = (await a.cliOk(['folder', 'share', dirA, '--type', 'ro'])).split('\n')[0]?.trim() ?? '';
    assert.match(rKey, /^R/);
    await r.cliOk(['folder', 'add', dirR, '--key', rKey]);
    await r.cliOk(['peer', 'add', await a.listenAddress()]);
    await converge(dirA, dirR, 'R identical to A');
    await writeFile(join(dirR, 'small/d7/f7.txt'), 'local edit on R');
    const fr = await r.waitForFolder(dirR, (f) => (f.localChanges ?? []).includes('small/d7/f7.txt'), { timeoutMs: SYNC_TIMEOUT_MS, description: 'R lists its local change' });
    assert.equal(fr.type, 'ro');
    await new Promise((res) => setTimeout(res, 2000));
    assert.notEqual(await readFile(join(dirA, 'small/d7/f7.txt'), 'utf8'), 'local edit on R', 'the edit never reaches A');
    assert.notEqual(await readFile(join(dirB, 'small/d7/f7.txt'), 'utf8'), 'local edit on R', 'nor B');
    await r.cliOk(['folder', 'revert', dirR]);
    await converge(dirA, dirR, 'R restored by revert');
    await r.waitForFolder(dirR, (f) => (f.localChanges ?? []).length === 0, { description: 'no local changes after revert' });
  });
});
