/**
 * Status through an encrypted peer, end to end with real daemons on
 * 127.0.0.1: A (W) ──► S (E) ──► L (W), L knowing only S.
 *
 * A big file reaches L through S while S is still receiving it from A. The
 * laptop L must never say "up to date" while it needs a file, every parked
 * path names its path and reason, and L ends up to date with the file. The
 * folder's file count on S (which sees no names) is compared with L's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { TestHome, pollUntil } from './helpers/harness.js';

const BIG_BYTES = 48 * 1024 * 1024;
const SYNC_TIMEOUT_MS = 120_000;
const POLL_MS = 100;

describe('status through an encrypted peer', () => {
  let a: TestHome;
  let s: TestHome;
  let l: TestHome;
  let dirA: string;
  let store: string;
  let dirL: string;

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    l = await TestHome.create({ name: 'l', root: a.root });
    dirA = join(a.root, 'folder-a');
    store = join(a.root, 'store-s');
    dirL = join(a.root, 'folder-l');
    await mkdir(dirA);
    await mkdir(store);
    await mkdir(dirL);
    await writeFile(join(dirA, 'small.txt'), 'hello\n');
    await Promise.all([a.startDaemon(), s.startDaemon(), l.startDaemon()]);
  });
  after(async () => {
    await l.cleanup();
    await s.cleanup();
    await a.cleanup();
  });

  test('a big file relayed while it arrives: the laptop never says up to date beside a needed file', async () => {
    const wKey = await a.newKey();
    await a.cliOk(['folder', 'add', dirA, '--key', wKey]);
    const eKey = (await a.cliOk(['folder', 'share', dirA, '--type', 'encrypted'])).trim();
    await s.cliOk(['folder', 'add', store, '--key', eKey]);
    await a.cliOk(['peer', 'add', await s.listenAddress()]);
    await l.cliOk(['folder', 'add', dirL, '--key', wKey]);
    await l.cliOk(['peer', 'add', await s.listenAddress()]);
    await l.waitForFolder(dirL, (f) => f.localFiles === 1 && f.state === 'idle', { timeoutMs: SYNC_TIMEOUT_MS, description: 'L has small.txt' });

    const big = randomBytes(BIG_BYTES);
    await writeFile(join(dirA, 'big.bin'), big);
    await a.cliOk(['folder', 'rescan', dirA]);
    const seen: FolderStatus[] = [];
    await pollUntil(async () => {
      const f = (await l.status()).folders.find((x) => x.path === dirL);
      if (f) seen.push(f);
      return f && f.state === 'idle' && f.needFiles === 0 && f.localFiles === 2 ? true : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: POLL_MS, description: 'L up to date with big.bin' });
    assert.ok((await readFile(join(dirL, 'big.bin'))).equals(big));
    assert.ok(seen.some((f) => f.needFiles > 0), 'the poll saw the file needed');
    for (const f of seen) {
      if (f.state === 'idle') assert.equal(f.needFiles, 0, `up to date beside a needed file: ${JSON.stringify(f)}`);
      if (f.needFiles > 0) assert.ok(['syncing', 'waiting', 'scanning'].includes(f.state), f.state);
      if (f.state === 'waiting') assert.ok(f.notice, 'waiting says why');
      for (const p of f.parked) assert.ok(p.path === 'big.bin' && p.reason.length > 0, JSON.stringify(p));
      if (f.progress) assert.ok(f.progress.percent < 100 || f.needFiles === 0, JSON.stringify(f.progress));
    }
    // The same count of files with content on S (names unseen) as on L.
    const fs = await s.waitForFolder(store, (f) => f.needFiles === 0 && f.globalFiles === 2, { timeoutMs: SYNC_TIMEOUT_MS });
    assert.equal(fs.state, 'idle');
  });
});
