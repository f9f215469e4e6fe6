// Two full peers (LocalFolder + SyncFolder) that only ever meet through an
// encrypted replica (ReplicaFolder), in process: links are direct calls with
// the same contract as the session binding, so many rounds stay fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveEncrypted, keysFromSecret, newFolderSecret, type FolderKeys } from '../../crypto/keys.js';
import { SealsyncError } from '../../errors.js';
import { openIndex, type Index } from '../../index/index.js';
import { silentLogger } from '../../logger.js';
import { LocalFolder } from '../local/local-folder.js';
import { SyncFolder } from '../sync/sync-folder.js';
import { makeDevice, snapshotTree, testLocalFolderFs, type TestDevice } from '../testing/sync-device.js';
import { findLeaks, listFiles } from '../../../test/e2e/helpers/replica-checks.js';
import { PACKS_DIR } from '../../store/block-store.js';
import { ReplicaFolder } from './replica-folder.js';
import { flipStoredByte, storedBlocks } from '../../store/testing/store-helpers.js';
import type { FolderLink, LinkedFolder } from '../peer/folder-link.js';
import { decodeSealedRecord } from '../../crypto/sealed-record.js';

// Generous bounds: CI runs two test files at once on two cores; a stuck
// folder still fails, it just has to be stuck for this long.
const WAIT_MS = 30_000;
const ROUNDS_BUDGET_MS = 90_000;
const ROUNDS = 20;

interface Node {
  readonly id: string;
  readonly index: Index;
  readonly folder: LinkedFolder & { serveBlock(id: Uint8Array): Promise<Uint8Array | null> };
}

interface FullNode extends Node {
  readonly dev: TestDevice;
  readonly local: LocalFolder;
  readonly sync: SyncFolder;
}

async function fullNode(id: string, keys: FolderKeys, opts: { withholdIds?: boolean } = {}): Promise<FullNode> {
  const dev = await makeDevice(id, keys, opts);
  const { fs, pool } = testLocalFolderFs();
  const local = new LocalFolder({ index: dev.index, pool, logger: silentLogger(), fs }, { path: dev.root, keys, folderRowId: dev.folder, rescanIntervalMs: 60_000, watch: false });
  const sync = new SyncFolder({ path: dev.root, keys, index: dev.index, folderRowId: dev.folder, localFolder: local, logger: silentLogger() });
  await local.start();
  await local.scanNow();
  await sync.start();
  return { id, dev, local, sync, index: dev.index, folder: sync };
}

/** A direct link from `from` to `to`, as a session binding would make it; `readers`: both proved R (plaintext blocks). */
function link(from: Node, to: Node, state: { up: boolean }, readers = false): FolderLink {
  const closed = () => new SealsyncError('ERR_CONNECTION_CLOSED');
  return {
    peerId: to.id,
    readsPlaintext: readers,
    async sendIndex(u) {
      if (!state.up) throw closed();
      const ack = await to.folder.receiveIndex(from.id, { indexId: from.index.indexId, ...u });
      if (ack !== null && state.up) from.folder.acknowledge(to.id, ack);
    },
    async requestBlock(blockId, o) {
      if (!state.up) throw closed();
      // Plain blocks only pass between full peers (readers); the replica serves sealed ones.
      return o?.form === 'plain' ? (to as FullNode).sync.serveBlock(blockId, { form: 'plain' }) : to.folder.serveBlock(blockId);
    },
    penalize: () => undefined,
  };
}

/** Connects two nodes both ways, each resuming from what the other acknowledged. Returns the disconnect. */
function connect(x: Node, y: Node, readers = false): () => void {
  const state = { up: true };
  const since = (me: Node, other: Node) => {
    const p = other.folder.peerProgress(me.id);
    return p && p.indexId === me.index.indexId ? p.maxSeq : 0;
  };
  x.folder.attachPeer(link(x, y, state, readers), { since: since(x, y) });
  y.folder.attachPeer(link(y, x, state, readers), { since: since(y, x) });
  return () => {
    state.up = false;
    x.folder.detachPeer(y.id);
    y.folder.detachPeer(x.id);
  };
}

async function until(cond: () => Promise<boolean> | boolean, what: string, ms = WAIT_MS, last?: () => Promise<string>): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; i < 10_000; i++) {
    if (await cond()) return;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}${last ? `; ${await last()}` : ''}`);
}

async function snap(root: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return JSON.stringify(await snapshotTree(root));
    } catch (err) {
      if (i >= 20 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** The replica is done with everything it was sent (records stored, blocks fetched). */
async function replicaSettled(s: ReplicaFolder): Promise<boolean> {
  s.refreshStats();
  const st = s.status();
  return st.state === 'idle' && st.needFiles === 0 && s.wantedBlocks().length === 0;
}

/** `names`: the full nodes (two unless a test needs more); `withholdIds`: their folders have had no encrypted peer. */
async function setup(opts: { names?: readonly string[]; withholdIds?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sealsync-3p-'));
  const keys = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(keys);
  // The replica's index is a file, so the leak scan sees what it persists.
  const sIndex = openIndex(join(dir, 'index.db'));
  const replica = new ReplicaFolder({ path: join(dir, 'store'), keys: enc, index: sIndex, logger: silentLogger() });
  await replica.start();
  const s: Node = { id: 'S', index: sIndex, folder: replica };
  const nodes: FullNode[] = [];
  for (const id of opts.names ?? ['A', 'B']) nodes.push(await fullNode(id, keys, { withholdIds: opts.withholdIds === true }));
  const [a, b] = nodes as [FullNode, FullNode];
  const cleanup = async () => {
    for (const n of nodes) {
      await n.sync.stop();
      await n.local.stop();
      await n.dev.close();
    }
    await replica.stop();
    sIndex.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, keys, replica, s, a, b, nodes, cleanup };
}

test('A uploads to S and leaves; B, knowing only S, ends identical; S holds no names and no plaintext; a rename costs S nothing', async () => {
  const { dir, replica, s, a, b, cleanup } = await setup();
  try {
    const secretName = 'acquisition-target-zebracorp.txt';
    const secret = Buffer.from('Project Zebra: offer 41 per share, board vote Tuesday.\n'.repeat(100));
    const big = randomBytes(1024 * 1024);
    await mkdir(join(a.dev.root, 'Legal/Mergers'), { recursive: true });
    await writeFile(join(a.dev.root, 'Legal/Mergers', secretName), secret);
    await writeFile(join(a.dev.root, 'big.bin'), big);
    await a.local.scanNow();
    const offA = connect(a, s);
    await until(async () => (await replicaSettled(replica)) && replica.status().globalFiles === 2, 'S has A\'s files');
    offA();

    const offB = connect(b, s);
    await until(async () => (await snap(b.dev.root)) === (await snap(a.dev.root)), 'B identical to A');
    offB();

    const leaks = await findLeaks([join(dir, 'store'), dir], [secretName, 'Legal', 'Mergers', 'big.bin'], [secret, big]);
    assert.deepEqual(leaks, []);
    assert.ok(storedBlocks(join(dir, 'store')).length >= 17, 'the 1 MiB file is there as 16 sealed blocks (plus one)');

    // Rename the big file on A: S's store does not grow by the file again.
    const storeBytes = async () => {
      let n = 0;
      // The packs: what the store holds of sealed blocks on disk.
      for (const f of await listFiles([join(dir, 'store', PACKS_DIR)])) n += (await readFile(f)).length;
      return n;
    };
    const before = await storeBytes();
    await rename(join(a.dev.root, 'big.bin'), join(a.dev.root, 'big-renamed.bin'));
    await a.local.scanNow();
    const offA2 = connect(a, s);
    await until(async () => (await replicaSettled(replica)) && replica.status().globalFiles === 2, 'S has the rename');
    offA2();
    const growth = (await storeBytes()) - before;
    assert.ok(growth < 1024 * 1024, `store grew by ${growth} bytes`);
    assert.ok(growth < 64 * 1024, `a rename moves no content (grew ${growth} bytes)`);
  } finally {
    await cleanup();
  }
});

test('the same file edited on A and on B while apart: both versions survive on both', async () => {
  const { replica, s, a, b, cleanup } = await setup();
  try {
    await writeFile(join(a.dev.root, 'plan.txt'), 'v1\n');
    await a.local.scanNow();
    let off = connect(a, s);
    await until(() => replicaSettled(replica), 'S has v1');
    off();
    off = connect(b, s);
    await until(async () => (await readFile(join(b.dev.root, 'plan.txt'), 'utf8').catch(() => '')) === 'v1\n', 'B has v1');
    off();

    await writeFile(join(a.dev.root, 'plan.txt'), 'edited on A\n');
    await a.local.scanNow();
    await writeFile(join(b.dev.root, 'plan.txt'), 'edited on B, longer\n');
    await b.local.scanNow();
    off = connect(a, s);
    await until(() => replicaSettled(replica), 'S has A\'s edit');
    off();
    off = connect(b, s);
    const both = ['edited on A\n', 'edited on B, longer\n'];
    const versions = async (root: string) => {
      const names = (await readdir(root)).filter((n) => n.startsWith('plan'));
      return (await Promise.all(names.map((n) => readFile(join(root, n), 'utf8')))).sort();
    };
    await until(async () => JSON.stringify(await versions(b.dev.root)) === JSON.stringify(both), 'B keeps both versions');
    await until(() => replicaSettled(replica), 'S has B\'s resolution');
    off();
    off = connect(a, s);
    await until(async () => JSON.stringify(await versions(a.dev.root)) === JSON.stringify(both), 'A keeps both versions');
    off();
    assert.equal(await snap(a.dev.root), await snap(b.dev.root));
  } finally {
    await cleanup();
  }
});

test(`${ROUNDS} alternating rounds through S, A and B never connected together: nothing lost, nobody stuck`, async () => {
  const { replica, s, a, b, cleanup } = await setup();
  try {
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      const n = round % 2 === 0 ? a : b;
      const off = connect(n, s);
      if (round > 0) {
        // Edit only once the node is up to date: log.txt of the previous round
        // may land after r<round-1>.txt (files are applied in parallel), and
        // writing it before then is a real concurrent edit (a conflict copy,
        // one file too many on S). Under load that happened around round 10.
        await until(async () => (await readFile(join(n.dev.root, 'log.txt'), 'utf8').catch(() => '')) === `last ${round - 1}\n`,
          `round ${round}: ${n.id} got the previous round`);
        await n.sync.whenPulled();
        await until(() => n.sync.status().state === 'idle' && n.sync.status().needFiles === 0, `round ${round}: ${n.id} up to date`);
        assert.equal(await readFile(join(n.dev.root, `r${round - 1}.txt`), 'utf8'), `round ${round - 1}\n`);
      }
      await writeFile(join(n.dev.root, `r${round}.txt`), `round ${round}\n`);
      await writeFile(join(n.dev.root, 'log.txt'), `last ${round}\n`);
      await n.local.scanNow();
      await until(async () => (await replicaSettled(replica)) && replica.status().globalFiles === round + 2, `round ${round}: S has it`, WAIT_MS,
        async () => `S ${JSON.stringify(replica.status())}; ${n.id} has ${(await readdir(n.dev.root)).join(',')}`);
      off();
    }
    for (const n of [a, b]) {
      const off = connect(n, s);
      await until(async () => (await readFile(join(n.dev.root, 'log.txt'), 'utf8').catch(() => '')) === `last ${ROUNDS - 1}\n`, `${n.id} final`);
      await n.sync.whenPulled();
      off();
      for (let r = 0; r < ROUNDS; r++) assert.equal(await readFile(join(n.dev.root, `r${r}.txt`), 'utf8'), `round ${r}\n`);
      assert.notEqual(n.sync.status().state, 'syncing');
    }
    assert.equal(await snap(a.dev.root), await snap(b.dev.root));
    assert.equal(replica.status().state, 'idle');
    assert.ok(Date.now() - started < ROUNDS_BUDGET_MS);
  } finally {
    await cleanup();
  }
});

test('a corrupted block on S is never written by B, and is healed when A returns', async () => {
  const { dir, replica, s, a, b, cleanup } = await setup();
  try {
    await writeFile(join(a.dev.root, 'doc.bin'), randomBytes(200_000));
    await writeFile(join(a.dev.root, 'ok.txt'), 'fine\n');
    await a.local.scanNow();
    let off = connect(a, s);
    await until(async () => (await replicaSettled(replica)) && replica.status().globalFiles === 2, 'S has both');
    off();
    // Damage every block of doc.bin on S's disk (the small file has one block, kept intact).
    const blocks = storedBlocks(join(dir, 'store'));
    assert.ok(blocks.length >= 5, 'doc.bin is several blocks');
    let damaged = 0;
    for (const loc of blocks) {
      if (loc.length < 1000) continue;
      flipStoredByte(loc, 500, 1);
      damaged++;
    }
    off = connect(b, s);
    await until(async () => (await readFile(join(b.dev.root, 'ok.txt'), 'utf8').catch(() => '')) === 'fine\n', 'B has the intact file');
    await new Promise((r) => setTimeout(r, 300));
    await assert.rejects(readFile(join(b.dev.root, 'doc.bin')), 'B never writes the damaged file');
    off();
    const report = await replica.verify();
    assert.ok(report.corruptCount + report.missingCount >= damaged, 'every damaged block is found (served ones were quarantined already)');
    off = connect(a, s);
    await until(() => replicaSettled(replica), 'S healed from A');
    off();
    assert.equal((await replica.verify()).corruptCount, 0);
    off = connect(b, s);
    await until(async () => (await snap(b.dev.root)) === (await snap(a.dev.root)), 'B identical after healing');
    off();
  } finally {
    await cleanup();
  }
});

test('readers sync with block ids withheld; when S joins, A completes the records, B takes the ids, and C gets everything from S alone', async () => {
  const { replica, s, a, b, nodes, cleanup } = await setup({ names: ['A', 'B', 'C'], withholdIds: true });
  const c = nodes[2]!;
  const withheld = (n: FullNode) => n.index.recordsSince(n.dev.folder, 0, 1000).filter((r) => decodeSealedRecord(r.sealed).idsWithheld === true).length;
  try {
    await mkdir(join(a.dev.root, 'docs'), { recursive: true });
    await writeFile(join(a.dev.root, 'docs/note.txt'), 'withheld ids\n');
    await writeFile(join(a.dev.root, 'big.bin'), randomBytes(700 * 1024));
    await a.local.scanNow();
    assert.equal(withheld(a), 2, 'both files withhold their ids on A');

    const offAB = connect(a, b, true);
    await until(async () => (await snap(b.dev.root)) === (await snap(a.dev.root)), 'B identical to A over plaintext');
    assert.equal(withheld(b), 2, 'B holds the withheld form');

    const offAS = connect(a, s);
    await until(async () => (await replicaSettled(replica)) && replica.status().globalFiles === 2, 'S has both files, blocks and all');
    assert.equal(withheld(a), 0, 'A completed its records');
    await until(() => withheld(b) === 0, 'B took the complete records');
    const bigOnB = b.index.getFile(b.dev.folder, 'big.bin');
    assert.ok(bigOnB && bigOnB.record.blocks.every((x) => x.id !== null), "B's file row has the ids (no transfer)");
    assert.ok(b.index.findBlockById(bigOnB.record.blocks[0]!.id!), 'B can serve it sealed by id');
    offAS();
    offAB();

    const offCS = connect(c, s);
    await until(async () => (await snap(c.dev.root)) === (await snap(a.dev.root)), 'C identical to A, from S alone');
    offCS();
  } finally {
    await cleanup();
  }
});
