/**
 * The encrypted always-on peer, end to end with real daemons on loopback:
 *
 *   A (W) ──► S (E) ◄── B (W)        A and B never talk to each other.
 *
 * A syncs a folder (a distinctive file name, nested directories, a 1 MiB
 * random file) to S; A stops; B, new and knowing only S, ends with an
 * identical tree. Every byte under S's home and store is scanned: no file or
 * directory name, no 64-byte slice of any file. A byte flipped on S's disk is
 * found by `folder verify`, and B never writes corrupt data. A renamed large
 * file grows S's store by less than 1 MiB.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { TestHome, type DaemonProcess } from './helpers/harness.js';
import { flipStoredByte, storedBlocks } from '../../src/store/testing/store-helpers.js';
import { findLeaks, listFiles, treeSnapshot } from './helpers/replica-checks.js';

const SYNC_TIMEOUT_MS = 30_000;
const SECRET_NAME = 'quarterly-merger-plans-zebra.txt';
const DIR_NAMES = ['Finance', 'Confidential-Ops'];

async function newKey(h: TestHome): Promise<string> {
  return (await h.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
}

async function listenAddress(h: TestHome): Promise<string> {
  const s = await h.status();
  const addr = s.device.listen.find((a) => a.includes('127.0.0.1')) ?? s.device.listen[0];
  assert.ok(addr, 'daemon reports its listen address');
  return addr;
}

const synced = (f: FolderStatus) => f.state === 'idle' && f.needFiles === 0 && f.error === null;

describe('encrypted always-on peer', () => {
  let a: TestHome;
  let s: TestHome;
  let b: TestHome;
  let dA: DaemonProcess;
  let dirA: string;
  let dirB: string;
  let store: string;
  let secretText: Buffer;
  let wKey = '';
  let bigFile: Buffer;

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    b = await TestHome.create({ name: 'b', root: a.root });
    dirA = join(a.root, 'folder-a');
    dirB = join(a.root, 'folder-b');
    store = join(a.root, 'store-s');
    await mkdir(join(dirA, DIR_NAMES[0] as string, DIR_NAMES[1] as string), { recursive: true });
    await mkdir(dirB);
    await mkdir(store);
    secretText = Buffer.from(`${'The zebra merger closes on Friday. '.repeat(200)}\n`);
    bigFile = randomBytes(1024 * 1024);
    await writeFile(join(dirA, DIR_NAMES[0] as string, DIR_NAMES[1] as string, SECRET_NAME), secretText);
    await writeFile(join(dirA, 'random-1mib.bin'), bigFile);
    await writeFile(join(dirA, 'small.txt'), 'hello\n');
    [dA] = await Promise.all([a.startDaemon(), s.startDaemon()]);
  });
  after(async () => {
    await b.cleanup();
    await s.cleanup();
    await a.cleanup();
  });

  test('A syncs to S; S holds only ciphertext', async () => {
    wKey = await newKey(a);
    assert.match(wKey, /^W/);
    await a.cliOk(['folder', 'add', dirA, '--key', wKey]);
    const eKey = (await a.cliOk(['folder', 'share', dirA, '--type', 'encrypted'])).trim();
    assert.match(eKey, /^E/);
    await s.cliOk(['folder', 'add', store, '--key', eKey]);
    await a.cliOk(['peer', 'add', await listenAddress(s)]);
    const fs = await s.waitForFolder(store, (f) => f.globalFiles >= 3 && f.needFiles === 0 && f.state === 'idle', { timeoutMs: SYNC_TIMEOUT_MS, description: 'S holds every block' });
    assert.equal(fs.type, 'encrypted');
    assert.ok(fs.globalBytes > bigFile.length, 'S stores at least the big file (as ciphertext)');

    // Positive control: the scanner does find a planted slice and a planted name.
    const control = join(a.root, 'control.bin');
    await writeFile(control, Buffer.concat([randomBytes(100), bigFile.subarray(5000, 5100), Buffer.from(SECRET_NAME)]));
    const planted = await findLeaks([control], [SECRET_NAME], [bigFile]);
    assert.ok(planted.some((f) => f.what.includes('slice')) && planted.some((f) => f.what.includes('name')), 'leak scanner works');

    const files = await listFiles([s.home, store]);
    assert.ok(files.length > 3, 'something to scan');
    const leaks = await findLeaks([s.home, store], [SECRET_NAME, ...DIR_NAMES, 'random-1mib.bin', 'small.txt'], [secretText, bigFile]);
    assert.deepEqual(leaks, [], `plaintext found on the encrypted peer: ${JSON.stringify(leaks.slice(0, 5))}`);
  });

  test('A stops; a flipped byte on S is found by folder verify; B, knowing only S, gets the rest and never the damaged file', async () => {
    await dA.stop();
    // Flip one byte of the largest stored block (part of the 1 MiB file).
    // (Located through S's store database, read only here; the byte is flipped in its pack.)
    const blocks = storedBlocks(store);
    const biggest = blocks.reduce((x, y) => (y.length > x.length ? y : x));
    flipStoredByte(biggest, Math.floor(biggest.length / 2), 0x40);
    const r = await s.cli(['folder', 'verify', store, '--json']);
    assert.notEqual(r.code, 0, 'verify exits non-zero on damage');
    const report = JSON.parse(r.stdout) as { corruptCount: number; corrupt: string[]; checkedBlocks: number };
    assert.equal(report.corruptCount, 1);
    assert.equal(report.corrupt[0], biggest.id);
    assert.ok(report.checkedBlocks >= 3);
    assert.ok(!r.stdout.includes(SECRET_NAME) && !r.stderr.includes(SECRET_NAME), 'the report names no file');
    assert.equal((await listFiles([join(store, 'quarantine')])).length, 1);

    await b.startDaemon();
    // B got the W key out of band; it knows only S's address.
    await b.cliOk(['folder', 'add', dirB, '--key', wKey]);
    await b.cliOk(['peer', 'add', await listenAddress(s)]);
    const fb = await b.waitForFolder(dirB, (f) => f.state === 'waiting' && f.localFiles >= 2 && f.needFiles === 1,
      { timeoutMs: SYNC_TIMEOUT_MS, description: 'B has all but the damaged file' });
    assert.equal(fb.needFiles, 1);
    const treeA = await treeSnapshot(dirA);
    const treeB = await treeSnapshot(dirB);
    assert.equal(treeB.has('random-1mib.bin'), false, 'the damaged file is never written');
    for (const [path, entry] of treeB) assert.deepEqual(entry, treeA.get(path), `${path} matches A`);
    assert.equal(treeB.size, treeA.size - 1);
  });

  test('A comes back: S re-fetches the quarantined block and B ends identical', async () => {
    dA = await a.startDaemon();
    await s.waitForFolder(store, (f) => synced(f), { timeoutMs: SYNC_TIMEOUT_MS, description: 'S whole again' });
    await b.waitForFolder(dirB, (f) => synced(f), { timeoutMs: SYNC_TIMEOUT_MS, description: 'B whole again' });
    assert.deepEqual(await treeSnapshot(dirB), await treeSnapshot(dirA));
    const clean = await s.cli(['folder', 'verify', store, '--json']);
    assert.equal(clean.code, 0, clean.stderr);
  });

  test('a renamed large file grows S by less than 1 MiB', async (t) => {
    // 100 MiB as in the issue in the opt-in full run (SEALSYNC_E2E_FULL=1), 16 MiB otherwise:
    // either way re-storing the file's blocks would cost far more than the 1 MiB allowed.
    const largeBytes = (process.env.SEALSYNC_E2E_FULL === '1' ? 100 : 16) * 1024 * 1024;
    await writeFile(join(dirA, 'large.bin'), randomBytes(largeBytes));
    await waitForPath(join(dirB, 'large.bin'));
    await b.waitForFolder(dirB, (f) => synced(f), { timeoutMs: SYNC_TIMEOUT_MS });
    await s.waitForFolder(store, (f) => synced(f), { timeoutMs: SYNC_TIMEOUT_MS });
    const before = (await s.status()).folders.find((f) => f.path === store);
    const storeBytes = async () => {
      let n = 0;
      for (const f of await listFiles([store])) n += (await stat(f)).size;
      return n;
    };
    const bytesBefore = await storeBytes();
    assert.ok(bytesBefore > largeBytes, 'the large file is stored on S before the rename');
    await rename(join(dirA, 'large.bin'), join(dirA, 'renamed-large.bin'));
    await waitForPath(join(dirB, 'renamed-large.bin'));
    await b.waitForFolder(dirB, (f) => synced(f), { timeoutMs: SYNC_TIMEOUT_MS });
    await s.waitForFolder(store, (f) => synced(f) && f.globalFiles === before?.globalFiles, { timeoutMs: SYNC_TIMEOUT_MS });
    const growth = (await storeBytes()) - bytesBefore;
    t.diagnostic(`store grew by ${growth} bytes for a rename of a ${largeBytes >> 20} MiB file`);
    assert.ok(growth < 1024 * 1024, `store grew by ${growth} bytes for a rename`);
  });
});

async function waitForPath(path: string, timeoutMs = SYNC_TIMEOUT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < end && i < 10_000; i++) {
    try {
      await readFile(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`timed out waiting for ${path}`);
}
