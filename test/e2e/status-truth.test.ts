/**
 * Status tells the truth, end to end with real daemons on 127.0.0.1
 * (issue "truthful status"): every case the status once lied about.
 *
 * - A folder no device shares is "unshared", not up to date, and `status
 *   --json` matches the status schema (schemaVersion included).
 * - A refused address and a TLS failure say why, with the last and next try.
 * - A valid key for another folder: the folder says "no connected device has
 *   this folder: wrong key?" and the peer "shares no folder".
 * - The first sync of a populated folder added while the peer is connected:
 *   the receiver says up to date (needFiles 0, idle) within 1 s after it
 *   renamed its last file into place, polled every 100 ms.
 * - A vanished root (removed, or an empty directory in its place, as an
 *   unmounted disk leaves it) stops the folder with a clear error; the peer
 *   deletes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStatusReport, STATUS_SCHEMA_VERSION } from '../../src/engine/peer/status-schema.js';
import { NO_DEVICE_NOTICE, NO_SHARING_DEVICE_NOTICE } from '../../src/engine/peer/folder-truth.js';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { snapshotTree } from '../../src/engine/testing/sync-device.js';
import { pollUntil, TestHome } from './helpers/harness.js';

const SYNC_TIMEOUT_MS = 90_000;
/** Files of the first-sync case: nested dirs, sizes from empty to 256 KiB. */
const FIRST_SYNC_FILES = 400;
const UP_TO_DATE_WITHIN_MS = 1000;
const POLL_MS = 100;

const upToDate = (f: FolderStatus | undefined) => f !== undefined && f.state === 'idle' && f.needFiles === 0 && f.parkedCount === 0 && f.error === null;

/** A loopback port with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    if (rel === '' && e.name === '.sealsync') continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

describe('status tells the truth', () => {
  let a: TestHome;
  let b: TestHome;
  let tlsDud: Server;

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    b = await TestHome.create({ name: 'b', root: a.root });
    // Accepts TCP and closes at once: the TLS handshake can never finish.
    tlsDud = createServer((s) => s.destroy());
    await new Promise<void>((r) => tlsDud.listen(0, '127.0.0.1', r));
    await Promise.all([a.startDaemon(), b.startDaemon()]);
  });
  after(async () => {
    await new Promise<void>((r) => tlsDud.close(() => r()));
    await b.cleanup();
    await a.cleanup();
  });

  test('a folder no device shares is not up to date, and status --json matches the schema', async () => {
    const dir = join(a.root, 'lonely');
    await mkdir(dir);
    await writeFile(join(dir, 'one.txt'), 'one');
    await a.cliOk(['folder', 'add', dir, '--key', await a.newKey()]);
    const f = await a.waitForFolder(dir, (x) => x.state !== 'scanning' && x.localFiles === 1);
    assert.deepEqual([f.state, f.notice], ['unshared', NO_DEVICE_NOTICE]);
    // Not in sync: `status` says so in its exit code too (3), with the report on stdout.
    const run = await a.cli(['status', '--json']);
    assert.equal(run.code, 3, run.stderr);
    const json = JSON.parse(run.stdout) as unknown;
    const report = parseStatusReport(json);
    assert.equal(report.schemaVersion, STATUS_SCHEMA_VERSION);
    const viaCli = report.folders.find((x) => x.path === dir);
    assert.deepEqual([viaCli?.state, viaCli?.needFiles, viaCli?.notice], ['unshared', 0, NO_DEVICE_NOTICE]);
    assert.match((await a.cli(['status'])).stdout, /unshared: no device that shares this folder is connected/);
    await a.cliOk(['folder', 'remove', dir]);
  });

  test('a refused address and a TLS failure say why, with the last and next try', async () => {
    const refused = `tcp://127.0.0.1:${await closedPort()}`;
    const dud = `tcp://127.0.0.1:${(tlsDud.address() as { port: number }).port}`;
    await a.cliOk(['peer', 'add', refused]);
    await a.cliOk(['peer', 'add', dud]);
    const s = await a.waitForStatus((st) => st.peers.filter((p) => p.problem?.lastAttemptAt != null).length >= 2, { description: 'both dialled' });
    const r = s.peers.find((p) => p.address === refused);
    const t = s.peers.find((p) => p.address === dud);
    assert.equal(r?.connected, false);
    assert.equal(r?.problem?.reason, 'refused', JSON.stringify(r));
    assert.equal(t?.problem?.reason, 'tls', JSON.stringify(t));
    for (const p of [r, t]) {
      assert.ok(typeof p?.problem?.lastAttemptAt === 'number' && p.problem.lastAttemptAt <= Date.now());
      assert.ok(typeof p.problem.nextAttemptAt === 'number' && p.problem.nextAttemptAt >= p.problem.lastAttemptAt, JSON.stringify(p));
    }
    assert.match(await a.cliOk(['status']), /refused: cannot connect to/);
    await a.cliOk(['peer', 'remove', refused]);
    await a.cliOk(['peer', 'remove', dud]);
  });

  test('a valid key for another folder: "wrong key?" on the folder, "shares no folder" on the peer', async () => {
    const dirA = join(a.root, 'mine');
    const dirB = join(a.root, 'theirs');
    await mkdir(dirA);
    await mkdir(dirB);
    await writeFile(join(dirA, 'x.txt'), 'x');
    await a.cliOk(['folder', 'add', dirA, '--key', await a.newKey()]);
    await b.cliOk(['folder', 'add', dirB, '--key', await b.newKey()]);
    await b.cliOk(['peer', 'add', await a.listenAddress()]);
    const f = await b.waitForFolder(dirB, (x) => x.notice === NO_SHARING_DEVICE_NOTICE, { description: 'the wrong-key notice' });
    assert.equal(f.state, 'unshared');
    const s = await b.waitForStatus((st) => st.peers.some((p) => p.connected && p.problem?.reason === 'no-shared-folder'));
    assert.equal(s.peers.find((p) => p.connected)?.sharedFolders, 0);
    await b.cliOk(['folder', 'remove', dirB]);
    await a.cliOk(['folder', 'remove', dirA]);
  });

  test('first sync of a populated folder: up to date within 1 s after the last file is in place', async (t) => {
    const dirA = join(a.root, 'home-a');
    const dirB = join(a.root, 'home-b');
    await mkdir(dirA);
    await mkdir(dirB);
    for (let i = 0; i < FIRST_SYNC_FILES; i++) {
      const dir = join(dirA, `d${i % 7}`, `e${i % 5}`, `f${i % 3}`);
      await mkdir(dir, { recursive: true });
      const size = i % 50 === 0 ? 0 : Math.floor(16 * 2 ** ((i * 7919) % 15));
      await writeFile(join(dir, `file-${i}.bin`), randomBytes(size));
    }
    const key = await a.newKey();
    // B is connected (from the previous test, or now) and has the folder before A adds its files.
    if (!(await b.status()).peers.some((p) => p.connected)) await b.cliOk(['peer', 'add', await a.listenAddress()]);
    await b.cliOk(['folder', 'add', dirB, '--key', key]);
    const samples: { at: number; f: FolderStatus | undefined }[] = [];
    await a.cliOk(['folder', 'add', dirA, '--key', key]);
    const aTree = await (async () => {
      await a.waitForFolder(dirA, (x) => x.state !== 'scanning' && x.localFiles >= FIRST_SYNC_FILES, { timeoutMs: SYNC_TIMEOUT_MS });
      return snapshotTree(dirA);
    })();
    await pollUntil(async () => {
      const f = (await b.status()).folders.find((x) => x.path === dirB);
      samples.push({ at: Date.now(), f });
      if (!upToDate(f)) return undefined;
      const bTree = await snapshotTree(dirB).catch(() => ({}));
      return JSON.stringify(bTree) === JSON.stringify(aTree) ? true : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: POLL_MS, description: 'B up to date with every file' });
    let lastRename = 0;
    for (const p of await listFiles(dirB)) lastRename = Math.max(lastRename, (await lstat(join(dirB, p))).ctimeMs);
    const firstTrue = samples.find((x) => x.at >= lastRename && upToDate(x.f));
    assert.ok(firstTrue, 'a poll after the last rename said up to date');
    t.diagnostic(`up to date ${Math.round(firstTrue.at - lastRename)} ms after the last rename; ${samples.length} polls`);
    assert.ok(firstTrue.at - lastRename <= UP_TO_DATE_WITHIN_MS + POLL_MS,
      `up to date ${Math.round(firstTrue.at - lastRename)} ms after the last rename (polled every ${POLL_MS} ms)`);
    // Never "up to date" beside a needed file, and never a parked path without its name.
    for (const x of samples) {
      if (x.f?.state === 'idle') assert.equal(x.f.needFiles, 0);
      for (const p of x.f?.parked ?? []) assert.ok(p.path.length > 0 && p.reason.length > 0);
    }
  });

  test('a vanished root stops the folder with a clear error; the peer deletes nothing', async () => {
    const dirA = join(a.root, 'home-a');
    const dirB = join(a.root, 'home-b');
    const before = await listFiles(dirB);
    assert.ok(before.length >= FIRST_SYNC_FILES);
    // An unmounted disk: an empty directory where the folder was.
    await rename(dirA, `${dirA}.away`);
    await mkdir(dirA);
    await a.cli(['folder', 'rescan', dirA]);
    const f = await a.waitForFolder(dirA, (x) => x.state === 'error', { description: 'the marker error' });
    assert.equal(f.errorCode, 'ERR_FOLDER_MARKER_MISSING');
    assert.match(f.error ?? '', /unmounted or emptied/);
    // Removed altogether.
    await rm(dirA, { recursive: true });
    await a.cli(['folder', 'rescan', dirA]);
    const g = await a.waitForFolder(dirA, (x) => x.errorCode === 'ERR_PATH_MISSING', { description: 'the missing root error' });
    assert.equal(g.state, 'error');
    // Give any delete time to travel, then check B lost nothing.
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual((await listFiles(dirB)).sort(), before.sort());
    // The disk comes back: the folder runs again and still sends no deletes.
    await rename(`${dirA}.away`, dirA);
    await a.cli(['folder', 'rescan', dirA]);
    await a.waitForFolder(dirA, (x) => x.error === null && x.state !== 'scanning', { description: 'the folder back' });
    assert.deepEqual((await listFiles(dirB)).sort(), before.sort());
  });
});
