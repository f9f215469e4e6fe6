/**
 * Two read-write laptops that are never connected to each other, only to an
 * encrypted server S, and never to S at the same time (real daemons):
 *
 *  - both edit the same file while apart → both versions survive on both
 *    (one as a sync-conflict copy), relayed by S that cannot read either;
 *  - ROUNDS alternating rounds of edits (A online, then B, never both)
 *    → no edit lost, nobody stuck in 'syncing'.
 *
 * "Online" is switched by giving a laptop S as its only peer and taking it
 * away through the control socket (no process start per round). Whether S
 * has everything of a laptop, or a laptop everything of S, is read from the
 * indexes' peer progress (S cannot see names, so its status cannot tell).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { openIndex } from '../../src/index/index.js';
import { TestHome, pollUntil, scanSettled } from './helpers/harness.js';

const SYNC_TIMEOUT_MS = 20_000;
const ROUNDS = 20;

const synced = (f: FolderStatus | undefined) => f !== undefined && f.state === 'idle' && f.needFiles === 0 && f.error === null;

/** The folder's sequence in `h`'s index, and what `h` holds of `peerId`'s index (read-only peek; WAL allows it). */
function indexProgress(h: TestHome, folderPath: string, peerId: string): { seq: number; ofPeer: number } {
  const index = openIndex(h.paths.index);
  try {
    const row = index.listFolders().find((f) => f.path === folderPath);
    if (!row) return { seq: 0, ofPeer: 0 };
    return { seq: index.folderSeq(row.rowId), ofPeer: index.peerState(row.rowId, peerId)?.maxSeq ?? 0 };
  } finally {
    index.close();
  }
}

/** Whether `h`'s index holds each of `paths` as on disk: the scan's own "unchanged" test (scan-diff isUnchanged; read-only peek). */
async function indexedAsOnDisk(h: TestHome, folderPath: string, paths: readonly string[]): Promise<boolean> {
  const disk = await Promise.all(paths.map((p) => stat(join(folderPath, p))));
  const index = openIndex(h.paths.index);
  try {
    const row = index.listFolders().find((f) => f.path === folderPath);
    if (!row) return false;
    return paths.every((p, i) => {
      const held = index.getFileStat(row.rowId, p);
      const now = disk[i]!;
      return held !== undefined && !held.deleted && held.size === now.size && Math.floor(held.diskMtimeMs) === Math.floor(now.mtimeMs) && held.ino === now.ino;
    });
  } finally {
    index.close();
  }
}

async function versionsOf(dir: string, prefix: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(prefix));
  return (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')))).sort();
}

describe('two writers that only meet through the encrypted server', () => {
  let a: TestHome;
  let s: TestHome;
  let b: TestHome;
  let dirA: string;
  let dirB: string;
  let store: string;
  let sAddr = '';
  let sId = '';
  const ids = new Map<TestHome, string>();
  const dirOf = new Map<TestHome, string>();

  const online = async (h: TestHome) => {
    await h.client.request('POST', '/api/peers', { address: sAddr });
    await h.waitForStatus((st) => st.peers.some((p) => p.connected), { timeoutMs: SYNC_TIMEOUT_MS, description: 'connected to S' });
  };
  const offline = async (h: TestHome) => {
    await h.client.request('DELETE', '/api/peers', { peer: sAddr });
    await h.waitForStatus((st) => st.peers.every((p) => !p.connected), { timeoutMs: SYNC_TIMEOUT_MS, description: 'disconnected from S' });
  };
  /** Both ways complete between `h` and S: each holds the other's whole index, and both are settled. */
  const exchanged = async (h: TestHome, extra: () => Promise<boolean> = async () => true, what = 'exchange with S') => {
    const dir = dirOf.get(h) as string;
    await pollUntil(async () => {
      const mine = indexProgress(h, dir, sId);
      const server = indexProgress(s, store, ids.get(h) as string);
      if (server.ofPeer < mine.seq || mine.ofPeer < server.seq) return undefined;
      const fh = (await h.status()).folders.find((f) => f.path === dir);
      const fs = (await s.status()).folders.find((f) => f.path === store);
      return synced(fh) && synced(fs) && (await extra()) ? true : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 50, description: what });
  };
  /**
   * `h` has scanned its latest edits: its folder is settled, its index moved
   * past `seq`, and it holds every one of `paths` as it is on disk now. The
   * sequence alone is not enough: a scan may record one edit while the
   * watcher still holds the other, with the folder idle in between.
   */
  const scanned = async (h: TestHome, seq: number, paths: readonly string[]) => {
    const dir = dirOf.get(h) as string;
    await pollUntil(async () => {
      const f = (await h.status()).folders.find((x) => x.path === dir);
      // Offline: the edit is not sent yet, so the folder rightly says unshared, not idle.
      if (f === undefined || !scanSettled(f) || indexProgress(h, dir, sId).seq <= seq) return undefined;
      return (await indexedAsOnDisk(h, dir, paths)) ? true : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 50, description: `local edits scanned: ${paths.join(', ')}` });
  };

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    b = await TestHome.create({ name: 'b', root: a.root });
    dirA = join(a.root, 'fa');
    dirB = join(a.root, 'fb');
    store = join(a.root, 'st');
    for (const d of [dirA, dirB, store]) await mkdir(d);
    dirOf.set(a, dirA).set(b, dirB);
    await writeFile(join(dirA, 'shared.txt'), 'original\n');
    await Promise.all([a.startDaemon(), b.startDaemon(), s.startDaemon()]);
    const st = await s.status();
    sAddr = st.device.listen[0] ?? '';
    sId = st.device.id;
    ids.set(a, (await a.status()).device.id).set(b, (await b.status()).device.id);
    const wKey = (await a.cliOk(['key', 'new'])).trim();
    await a.cliOk(['folder', 'add', dirA, '--key', wKey]);
    await b.cliOk(['folder', 'add', dirB, '--key', wKey]);
    await s.cliOk(['folder', 'add', store, '--key', (await a.cliOk(['folder', 'share', dirA, '--type', 'encrypted'])).trim()]);
    await a.waitForFolder(dirA, (f) => scanSettled(f) && f.localFiles === 1);
  });
  after(async () => {
    await b.cleanup();
    await s.cleanup();
    await a.cleanup();
  });

  test('the same file edited on both while apart: both versions survive on both', async () => {
    await online(a);
    await exchanged(a);
    await offline(a);
    await online(b);
    await exchanged(b, async () => (await readFile(join(dirB, 'shared.txt'), 'utf8').catch(() => '')) === 'original\n', 'B has the file');
    await offline(b);

    const seqA = indexProgress(a, dirA, sId).seq;
    const seqB = indexProgress(b, dirB, sId).seq;
    await writeFile(join(dirA, 'shared.txt'), 'edit by A\n');
    await writeFile(join(dirB, 'shared.txt'), 'edit by B, longer\n');
    await scanned(a, seqA, ['shared.txt']);
    await scanned(b, seqB, ['shared.txt']);
    const both = ['edit by A\n', 'edit by B, longer\n'];
    await online(a);
    await exchanged(a);
    await offline(a);
    await online(b);
    await exchanged(b, async () => JSON.stringify(await versionsOf(dirB, 'shared')) === JSON.stringify(both), 'B keeps both versions');
    await offline(b);
    await online(a);
    await exchanged(a, async () => JSON.stringify(await versionsOf(dirA, 'shared')) === JSON.stringify(both), 'A keeps both versions');
    await offline(a);
    assert.deepEqual(await versionsOf(dirA, 'shared'), both);
    assert.deepEqual(await versionsOf(dirB, 'shared'), both);
    assert.deepEqual((await readdir(dirA)).filter((n) => !n.startsWith('.')).sort(), (await readdir(dirB)).filter((n) => !n.startsWith('.')).sort());
  });

  test(`${ROUNDS} alternating rounds through S: no edit lost, nobody stuck`, async (t) => {
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      const h = round % 2 === 0 ? a : b;
      const dir = dirOf.get(h) as string;
      await online(h);
      await exchanged(h, async () => round === 0
        || (await readFile(join(dir, `round-${round - 1}.txt`), 'utf8').catch(() => '')) === `written in round ${round - 1}\n`,
      `round ${round}: the previous round arrived`);
      const seq = indexProgress(h, dir, sId).seq;
      await writeFile(join(dir, `round-${round}.txt`), `written in round ${round}\n`);
      await writeFile(join(dir, 'log.txt'), `last round ${round}\n`);
      await scanned(h, seq, [`round-${round}.txt`, 'log.txt']);
      await exchanged(h, async () => true, `round ${round}: S has the edit`);
      await offline(h);
    }
    for (const h of [a, b]) {
      const dir = dirOf.get(h) as string;
      await online(h);
      await exchanged(h, async () => (await readFile(join(dir, 'log.txt'), 'utf8').catch(() => '')) === `last round ${ROUNDS - 1}\n`, 'final state');
      for (let r = 0; r < ROUNDS; r++) assert.equal(await readFile(join(dir, `round-${r}.txt`), 'utf8'), `written in round ${r}\n`);
      assert.equal((await h.status()).folders.find((f) => f.path === dir)?.state, 'idle');
      await offline(h);
    }
    t.diagnostic(`${ROUNDS} rounds in ${Date.now() - started} ms`);
  });
});
