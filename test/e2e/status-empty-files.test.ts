/**
 * File counts agree between full and encrypted peers (issue 14: "the
 * encrypted server counts 53 files where its laptop has 54, the empty file is
 * left out"). Real daemons on 127.0.0.1: A (W) ──► S (E) ──► B (R), B
 * knowing only S. The folder holds normal files, empty files, an empty
 * directory and a symlink; S sees no names or kinds, only each record's
 * envelope "live file" flag (docs/crypto.md 4.1), and must count what A and B
 * count: files, empty ones included, never directories, symlinks or deleted
 * files.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { TestHome } from './helpers/harness.js';

const SYNC_TIMEOUT_MS = 120_000;
const settledWith = (files: number) => (f: FolderStatus): boolean =>
  f.state === 'idle' && f.needFiles === 0 && f.localFiles === files && f.globalFiles === files;

describe('file counts agree between full and encrypted peers', () => {
  let a: TestHome;
  let s: TestHome;
  let b: TestHome;
  let dirA: string;
  let store: string;
  let dirB: string;

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    b = await TestHome.create({ name: 'b', root: a.root });
    dirA = join(a.root, 'folder-a');
    store = join(a.root, 'store-s');
    dirB = join(a.root, 'folder-b');
    await mkdir(join(dirA, 'docs/deeper'), { recursive: true });
    await mkdir(join(dirA, 'empty-dir/also-empty'), { recursive: true });
    await mkdir(store);
    await mkdir(dirB);
    await writeFile(join(dirA, 'a.txt'), 'alpha\n');
    await writeFile(join(dirA, 'docs/b.txt'), 'beta\n'.repeat(1000));
    await writeFile(join(dirA, 'docs/deeper/c.bin'), Buffer.alloc(300_000, 7));
    await writeFile(join(dirA, 'empty.txt'), '');
    await writeFile(join(dirA, 'docs/empty-too'), '');
    await writeFile(join(dirA, 'docs/deeper/.empty-hidden'), '');
    await symlink('a.txt', join(dirA, 'link-to-a'));
    await Promise.all([a.startDaemon(), s.startDaemon(), b.startDaemon()]);
  });
  after(async () => {
    await b.cleanup();
    await s.cleanup();
    await a.cleanup();
  });

  test('S counts the same files as A and B: empty files in, directories, symlinks and deleted files out', async () => {
    const wKey = await a.newKey();
    await a.cliOk(['folder', 'add', dirA, '--key', wKey, '--wait']);
    const eKey = (await a.cliOk(['folder', 'share', dirA, '--type', 'encrypted'])).trim();
    const rKey = (await a.cliOk(['folder', 'share', dirA, '--type', 'ro'])).trim();
    await s.cliOk(['folder', 'add', store, '--key', eKey]);
    await a.cliOk(['peer', 'add', await s.listenAddress()]);
    await b.cliOk(['folder', 'add', dirB, '--key', rKey]);
    await b.cliOk(['peer', 'add', await s.listenAddress()]);

    // 3 files with content and 3 empty ones; 4 directories and a symlink are not files.
    const FILES = 6;
    const wait = { timeoutMs: SYNC_TIMEOUT_MS };
    const fa = await a.waitForFolder(dirA, settledWith(FILES), { ...wait, description: 'A counts 6 files' });
    const fb = await b.waitForFolder(dirB, settledWith(FILES), { ...wait, description: 'B has and counts 6 files' });
    const fs = await s.waitForFolder(store, settledWith(FILES), { ...wait, description: 'S counts 6 files' });
    assert.deepEqual([fa.localFiles, fb.localFiles, fs.localFiles], [FILES, FILES, FILES]);
    assert.deepEqual([fa.globalFiles, fb.globalFiles, fs.globalFiles], [FILES, FILES, FILES]);
    assert.equal(fs.globalBytes > 0, true);

    // A deleted empty file and a file emptied: the counts follow on every device.
    await rm(join(dirA, 'empty.txt'));
    await writeFile(join(dirA, 'a.txt'), '');
    await a.cliOk(['folder', 'rescan', dirA, '--wait']);
    const after = FILES - 1;
    await a.waitForFolder(dirA, settledWith(after), { ...wait, description: 'A counts 5 files' });
    await b.waitForFolder(dirB, settledWith(after), { ...wait, description: 'B counts 5 files' });
    await s.waitForFolder(store, settledWith(after), { ...wait, description: 'S counts 5 files' });
  });
});
