import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveReadOnly, keysFromSecret, newFolderSecret, sealRecord, encodeSealedRecord, sealedBlockSize, type FolderKeys } from '../../crypto/index.js';
import { silentLogger } from '../../logger.js';
import { LocalFolder } from '../local/local-folder.js';
import type { FolderStatus } from '../peer/folder-status.js';
import { SyncFolder } from './sync-folder.js';
import type { FolderLink } from '../peer/folder-link.js';
import { HashPool } from '../../fs/hash-pool.js';
import { makeDevice, snapshotTree, testLocalFolderFs, type TestDevice } from '../testing/sync-device.js';

interface Node {
  dev: TestDevice;
  local: LocalFolder;
  sync: SyncFolder;
  statuses: FolderStatus[];
  penalties: string[];
}

async function makeNode(name: string, keys: FolderKeys, opts: { withholdIds?: boolean } = {}): Promise<Node> {
  const dev = await makeDevice(name, keys, opts);
  const { fs, pool } = testLocalFolderFs();
  const local = new LocalFolder(
    { index: dev.index, pool, logger: silentLogger(), fs },
    { path: dev.root, keys, folderRowId: dev.folder, rescanIntervalMs: 60_000, watch: false },
  );
  const sync = new SyncFolder({ path: dev.root, keys, index: dev.index, folderRowId: dev.folder, localFolder: local, logger: silentLogger(), pullRetryMs: 200 });
  const statuses: FolderStatus[] = [];
  sync.onStatus((s) => statuses.push(s));
  return { dev, local, sync, statuses, penalties: [] };
}

/** Links two nodes in process: what one sends, the other receives (acks included). `plaintext`: links between readers. */
function connect(a: Node, b: Node, opts: { plaintext?: boolean } = {}): void {
  const link = (from: Node, to: Node): FolderLink => ({
    peerId: to.dev.name,
    ...(opts.plaintext === true ? { readsPlaintext: true } : {}),
    async sendIndex(u) {
      const ack = await to.sync.receiveIndex(from.dev.name, { indexId: from.dev.index.indexId, ...u });
      if (ack !== null) from.sync.acknowledge(to.dev.name, ack);
    },
    requestBlock: (id, o) => to.sync.serveBlock(id, o.form ? { form: o.form } : {}),
    penalize: (r) => from.penalties.push(r),
  });
  a.sync.attachPeer(link(a, b));
  b.sync.attachPeer(link(b, a));
}

async function startNode(n: Node): Promise<void> {
  await n.local.start();
  await n.local.scanNow();
  await n.sync.start();
}

async function stopNode(n: Node): Promise<void> {
  await n.sync.stop();
  await n.local.stop();
  await n.dev.close();
}

/** Polls until both trees are equal (bounded). */
async function converge(a: Node, b: Node, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let sa: Record<string, string> = {};
  let sb: Record<string, string> = {};
  for (let i = 0; i < 400 && Date.now() < deadline; i++) {
    await a.sync.whenPulled();
    await b.sync.whenPulled();
    sa = await snapshotTree(a.dev.root);
    sb = await snapshotTree(b.dev.root);
    if (JSON.stringify(sa) === JSON.stringify(sb)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(sb, sa, 'trees did not converge');
}

test('two coordinators sync a tree both ways over in-process links', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const b = await makeNode('B', keys);
  try {
    await mkdir(join(a.dev.root, 'dir/sub'), { recursive: true });
    await writeFile(join(a.dev.root, 'dir/sub/big.bin'), randomBytes(500_000));
    await writeFile(join(a.dev.root, 'empty'), '');
    await writeFile(join(a.dev.root, 'tool.sh'), '#!/bin/sh\n');
    await chmod(join(a.dev.root, 'tool.sh'), 0o755);
    await symlink('dir/sub', join(a.dev.root, 'link'));
    await startNode(a);
    await startNode(b);
    connect(a, b);
    await converge(a, b);
    assert.ok(b.statuses.some((s) => s.state === 'syncing'), 'B reported syncing while pulling');
    const sb = b.sync.status();
    assert.deepEqual([sb.needFiles, sb.needBytes, sb.state], [0, 0, 'idle']);
    // an edit on B goes back to A
    await writeFile(join(b.dev.root, 'from-b.txt'), 'hello from B');
    await rm(join(b.dev.root, 'empty'));
    await b.local.scanNow();
    await converge(a, b);
    assert.equal(await readFile(join(a.dev.root, 'from-b.txt'), 'utf8'), 'hello from B');
    assert.deepEqual([a.penalties, b.penalties], [[], []]);
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});

test('a pulled file is scanned again for its block ids only when its record withheld them', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys, { withholdIds: true }); // no encrypted peer yet: A withholds
  const b = await makeNode('B', keys); // B has had one: what it pulls must carry ids
  const completions: string[] = [];
  try {
    const complete = b.local.completeBlockIds.bind(b.local);
    b.local.completeBlockIds = (paths) => {
      completions.push(...paths);
      complete(paths);
    };
    await writeFile(join(a.dev.root, 'withheld.txt'), 'scanned before any encrypted peer');
    await startNode(a);
    await startNode(b);
    connect(a, b, { plaintext: true });
    await converge(a, b);
    assert.deepEqual(completions, ['withheld.txt']);
    assert.equal(a.dev.index.getFileStat(a.dev.folder, 'withheld.txt')?.idsWithheld, true);
    // Once A seals too, what B pulls from it is complete: no second look at the file.
    a.dev.index.markSealsBlockIds(a.dev.folder);
    await writeFile(join(a.dev.root, 'complete.txt'), 'scanned with ids');
    await a.local.scanNow();
    await converge(a, b);
    assert.equal(b.dev.index.getFileStat(b.dev.folder, 'complete.txt')?.idsWithheld, false);
    assert.deepEqual(completions, ['withheld.txt']);
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});

test('two readers exchange padded plaintext: served without sealing, checked against the record; tampering is refused and charged', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const b = await makeNode('B', keys);
  const forms: string[] = [];
  let tamper = false;
  try {
    const content = randomBytes(700_000);
    await writeFile(join(a.dev.root, 'big.bin'), content);
    await startNode(a);
    await startNode(b);
    const link = (from: Node, to: Node): FolderLink => ({
      peerId: to.dev.name,
      readsPlaintext: true,
      async sendIndex(u) {
        const ack = await to.sync.receiveIndex(from.dev.name, { indexId: from.dev.index.indexId, ...u });
        if (ack !== null) from.sync.acknowledge(to.dev.name, ack);
      },
      async requestBlock(id, o) {
        forms.push(o.form ?? 'sealed');
        const data = await to.sync.serveBlock(id, o.form ? { form: o.form } : {});
        if (data && tamper) {
          const bad = Uint8Array.from(data);
          bad[0]! ^= 1;
          return bad;
        }
        return data;
      },
      penalize: (r) => from.penalties.push(r),
    });
    // First a tampering peer: every block is refused, charged, and nothing is written.
    tamper = true;
    b.sync.attachPeer(link(b, a));
    a.sync.attachPeer(link(a, b));
    for (let i = 0; i < 200 && b.penalties.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(b.penalties.some((p) => p.includes('ERR_BLOCK_ID')), `penalties: ${b.penalties.join(', ')}`);
    assert.equal(await readFile(join(b.dev.root, 'big.bin')).catch(() => null), null);
    // Then honest: the file arrives intact, every block asked for as plaintext.
    tamper = false;
    b.sync.detachPeer('A');
    b.sync.attachPeer(link(b, a));
    await converge(a, b);
    assert.deepEqual(await readFile(join(b.dev.root, 'big.bin')), content);
    assert.ok(forms.length > 0 && forms.every((f) => f === 'plain'), `forms: ${forms.join(',')}`);
    // What A serves as plaintext is the block padded with zeros to its sealed size.
    const first = a.dev.index.getFile(a.dev.folder, 'big.bin')?.record.blocks[0];
    assert.ok(first);
    const served = await a.sync.serveBlock(first.hash, { form: 'plain' });
    assert.ok(served);
    assert.equal(served.byteLength, sealedBlockSize(first.size));
    assert.deepEqual(Buffer.from(served.subarray(0, first.size)), content.subarray(0, first.size));
    assert.ok(served.subarray(first.size).every((x) => x === 0));
    assert.equal(await a.sync.serveBlock(new Uint8Array(32), { form: 'plain' }), null, 'an unknown id is missing');
    // A file edited since the scan (same length, so only the stat tells) is answered missing, not served.
    const edited = Buffer.from(content);
    edited[10] = (edited[10]! + 1) & 0xff;
    await writeFile(join(a.dev.root, 'big.bin'), edited);
    await utimes(join(a.dev.root, 'big.bin'), new Date(), new Date(Date.now() + 5000));
    assert.equal(await a.sync.serveBlock(first.hash, { form: 'plain' }), null);
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});

test('a plaintext block is served only from the inode the scan indexed, found by any spelling and in any file that holds it', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const outside = await mkdtemp(join(tmpdir(), 'sealsync-outside-'));
  try {
    const content = randomBytes(3000);
    await mkdir(join(a.dev.root, 'd'));
    await writeFile(join(a.dev.root, 'd', 'x.bin'), content);
    const when = new Date('2026-01-01T00:00:00Z'); // whole seconds: a copy can have exactly this mtime
    await utimes(join(a.dev.root, 'd', 'x.bin'), when, when);
    await writeFile(join(a.dev.root, 'caf\u0065\u0301.bin'), Buffer.concat([content, Buffer.from('nfd')])); // NFD on disk
    await startNode(a);
    const hashOf = (path: string) => {
      const block = a.dev.index.getFile(a.dev.folder, path)?.record.blocks[0];
      assert.ok(block, `${path} is indexed`);
      return block.hash;
    };
    const plain = async (hash: Uint8Array, size: number) => (await a.sync.serveBlock(hash, { form: 'plain' }))?.subarray(0, size);
    const x = hashOf('d/x.bin');
    assert.deepEqual(Buffer.from((await plain(x, 3000)) ?? []), content);
    // Indexed under its NFC name, read under the spelling on disk.
    assert.deepEqual(Buffer.from((await plain(hashOf('caf\u00e9.bin'), 3003)) ?? []), Buffer.concat([content, Buffer.from('nfd')]));
    // The parent swapped for a symlink to a directory outside, holding a file of the same
    // name, size and mtime: another inode, so nothing is read through the link.
    await writeFile(join(outside, 'x.bin'), content);
    await utimes(join(outside, 'x.bin'), when, when);
    await rename(join(a.dev.root, 'd'), join(a.dev.root, 'd-moved'));
    await symlink(outside, join(a.dev.root, 'd'));
    assert.equal(await a.sync.serveBlock(x, { form: 'plain' }), null);
    // The same block in a second file still serves once the first is gone.
    await rm(join(a.dev.root, 'd'));
    await rename(join(a.dev.root, 'd-moved'), join(a.dev.root, 'd'));
    await writeFile(join(a.dev.root, 'copy.bin'), content);
    await a.local.scanNow();
    await rm(join(a.dev.root, 'd', 'x.bin'));
    assert.deepEqual(Buffer.from((await plain(x, 3000)) ?? []), content);
  } finally {
    await stopNode(a);
    await rm(outside, { recursive: true, force: true });
  }
});

test('records that fail verification are dropped and the sender is penalised', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const other = keysFromSecret(newFolderSecret()); // a different folder's write key
  const b = await makeNode('B', keys);
  try {
    await startNode(b);
    const penalties: string[] = [];
    b.sync.attachPeer({ peerId: 'EVIL', sendIndex: async () => undefined, requestBlock: async () => null, penalize: (r) => penalties.push(r) });
    const forged = encodeSealedRecord(sealRecord(other, {
      path: 'evil.txt', kind: 'file', size: 0, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false,
    }));
    const garbage = randomBytes(100);
    const ack = await b.sync.receiveIndex('EVIL', { indexId: '1111111111111111', fromSeq: 0, toSeq: 2, records: [forged, garbage] });
    assert.equal(ack, 2);
    assert.equal(penalties.length, 2);
    assert.equal(b.dev.index.recordsSince(b.dev.folder, 0, 10).length, 0);
  } finally {
    await stopNode(b);
  }
});

test('a large update checked on the hash workers: forged records dropped and penalised exactly as inline, the rest stored in order', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const other = keysFromSecret(newFolderSecret());
  const record = (i: number, version = 1) => ({
    path: `d/f${i}.txt`, kind: 'dir' as const, size: 0, mtimeMs: 1000 + i, mode: 0o755, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: version }], deleted: false,
  });
  const records = Array.from({ length: 300 }, (_, i) => encodeSealedRecord(sealRecord(keys, record(i))));
  records[7] = encodeSealedRecord(sealRecord(other, record(7))); // another folder's key
  records[280] = randomBytes(100); // in the second chunk
  // Two versions of one path in one update: the later one must win, as stored in order.
  records[290] = encodeSealedRecord(sealRecord(keys, record(1, 2)));
  const outcome = async (checker: boolean) => {
    const pool = new HashPool({ workers: 1 });
    pool.start();
    const dev = await makeDevice(checker ? 'W' : 'I', keys);
    const { fs, pool: hasher } = testLocalFolderFs();
    const local = new LocalFolder({ index: dev.index, pool: hasher, logger: silentLogger(), fs }, { path: dev.root, keys, folderRowId: dev.folder, rescanIntervalMs: 60_000, watch: false });
    const sync = new SyncFolder({
      path: dev.root, keys, index: dev.index, folderRowId: dev.folder, localFolder: local, logger: silentLogger(),
      ...(checker ? { recordChecker: pool } : {}),
    });
    const node: Node = { dev, local, sync, statuses: [], penalties: [] };
    try {
      await local.start();
      await sync.start();
      const penalties: string[] = [];
      sync.attachPeer({ peerId: 'EVIL', sendIndex: async () => undefined, requestBlock: async () => null, penalize: (r) => penalties.push(r) });
      const ack = await sync.receiveIndex('EVIL', { indexId: '1111111111111111', fromSeq: 0, toSeq: 300, records });
      const stored = dev.index.recordsSince(dev.folder, 0, 1000).map((r) => Buffer.from(r.sealed).toString('hex'));
      return { ack, penalties, stored };
    } finally {
      await stopNode(node);
      await pool.stop();
    }
  };
  const offloaded = await outcome(true);
  const inline = await outcome(false);
  assert.deepEqual(offloaded, inline);
  assert.equal(offloaded.ack, 300);
  assert.deepEqual(offloaded.penalties, ['bad record: ERR_SIGNATURE', 'bad record: ERR_SIGNATURE']);
  // 298 good records, of which one path came twice: 297 rows, the newer version of d/f1.txt kept.
  assert.equal(offloaded.stored.length, 297);
  assert.ok(offloaded.stored.includes(Buffer.from(records[290]!).toString('hex')));
  assert.ok(!offloaded.stored.includes(Buffer.from(records[1]!).toString('hex')));
});

test('our own index failing mid-update is not the peer\'s fault: no penalty, no acknowledgement, and what was stored is kept', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const b = await makeNode('B', keys);
  try {
    await startNode(b);
    const penalties: string[] = [];
    b.sync.attachPeer({ peerId: 'P', sendIndex: async () => undefined, requestBlock: async () => null, penalize: (r) => penalties.push(r) });
    const records = [0, 1, 2].map((i) => encodeSealedRecord(sealRecord(keys, {
      path: `d${i}`, kind: 'dir', size: 0, mtimeMs: 1000, mode: 0o755, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false,
    })));
    // The second put fails as a full disk would: the batch rolls back, then the
    // record-by-record retry stores the first and stops at the failing one.
    const index = b.dev.index;
    const realPut = index.putRemoteRecord.bind(index);
    let calls = 0;
    index.putRemoteRecord = (folder, rec) => {
      calls++;
      if (rec.sealed === records[1]) throw new Error('SQLITE_FULL: database or disk is full');
      return realPut(folder, rec);
    };
    const ack = await b.sync.receiveIndex('P', { indexId: '1111111111111111', fromSeq: 0, toSeq: 3, records });
    assert.equal(ack, null, 'not acknowledged: the peer sends it again');
    assert.deepEqual(penalties, []);
    assert.ok(calls >= 2);
    const stored = index.recordsSince(b.dev.folder, 0, 10).map((r) => Buffer.from(r.sealed).toString('hex'));
    assert.deepEqual(stored, [Buffer.from(records[0]!).toString('hex')]);
    assert.equal(b.sync.peerProgress('P'), null, 'no progress recorded past the failure');
  } finally {
    await stopNode(b);
  }
});

test('a read-only coordinator receives everything and never sends its local edits', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const r = await makeNode('R', deriveReadOnly(keys));
  try {
    await writeFile(join(a.dev.root, 'doc.txt'), 'global');
    await startNode(a);
    await startNode(r);
    connect(a, r);
    await converge(a, r);
    const seqA = a.dev.index.folderSeq(a.dev.folder);
    await writeFile(join(r.dev.root, 'doc.txt'), 'local edit on R');
    await r.local.scanNow();
    await r.sync.whenPulled();
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(a.dev.index.folderSeq(a.dev.folder), seqA, 'nothing new reached A');
    assert.equal(await readFile(join(a.dev.root, 'doc.txt'), 'utf8'), 'global');
    assert.deepEqual(r.sync.status().localChanges, ['doc.txt']);
    await r.sync.revert();
    assert.equal(await readFile(join(r.dev.root, 'doc.txt'), 'utf8'), 'global');
    assert.deepEqual(r.sync.status().localChanges, []);
  } finally {
    await stopNode(a);
    await stopNode(r);
  }
});

test('three peers: a large file is pulled from both peers that have it at once', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const c = await makeNode('C', keys);
  const b = await makeNode('B', keys);
  try {
    await writeFile(join(a.dev.root, 'large.bin'), randomBytes(4 * 1024 * 1024)); // 64 blocks of 64 KiB
    await startNode(a);
    await startNode(c);
    connect(a, c);
    await converge(a, c);
    await startNode(b);
    const served: Record<string, number> = { A: 0, C: 0 };
    for (const n of [a, c]) {
      const orig = n.sync.serveBlock.bind(n.sync);
      n.sync.serveBlock = async (id, o) => {
        served[n.dev.name]!++;
        return orig(id, o);
      };
    }
    connect(b, a);
    connect(b, c);
    await converge(a, b);
    assert.ok(served.A! > 0 && served.C! > 0, `both peers served blocks: ${JSON.stringify(served)}`);
    assert.ok(served.A! + served.C! >= 64);
  } finally {
    await stopNode(a);
    await stopNode(b);
    await stopNode(c);
  }
});

test('edits made on both sides while apart: both survive on both sides after reconnecting', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const b = await makeNode('B', keys);
  try {
    await writeFile(join(a.dev.root, 'plan.md'), 'v0');
    await startNode(a);
    await startNode(b);
    connect(a, b);
    await converge(a, b);
    a.sync.detachPeer('B');
    b.sync.detachPeer('A');
    await writeFile(join(a.dev.root, 'plan.md'), 'A wrote this');
    await utimes(join(a.dev.root, 'plan.md'), new Date(1_800_000_000_000), new Date(1_800_000_000_000));
    await writeFile(join(b.dev.root, 'plan.md'), 'B wrote this');
    await utimes(join(b.dev.root, 'plan.md'), new Date(1_800_000_050_000), new Date(1_800_000_050_000));
    await a.local.scanNow();
    await b.local.scanNow();
    connect(a, b);
    await converge(a, b);
    const names = (await readdir(a.dev.root)).filter((n) => !n.startsWith('.')).sort();
    assert.equal(names.length, 2, names.join(', '));
    assert.equal(await readFile(join(a.dev.root, 'plan.md'), 'utf8'), 'B wrote this');
    assert.equal(await readFile(join(a.dev.root, names.find((n) => n.includes('.sync-conflict-'))!), 'utf8'), 'A wrote this');
    // settled: one more scan on each side publishes nothing new
    const seqs = [a.dev.index.folderSeq(a.dev.folder), b.dev.index.folderSeq(b.dev.folder)];
    await a.local.scanNow();
    await b.local.scanNow();
    await converge(a, b);
    assert.deepEqual([a.dev.index.folderSeq(a.dev.folder), b.dev.index.folderSeq(b.dev.folder)], seqs);
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});

test('a local edit made while a newer remote version is being pulled survives as a conflict, with the scanner running', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const b = await makeNode('B', keys);
  try {
    await writeFile(join(a.dev.root, 'doc.bin'), randomBytes(200_000));
    await startNode(a);
    await startNode(b);
    connect(a, b);
    await converge(a, b);
    // A writes a new version; B's copy of it arrives slowly, and B edits meanwhile.
    const serve = a.sync.serveBlock.bind(a.sync);
    let edited = false;
    a.sync.serveBlock = async (id, o) => {
      if (!edited) {
        edited = true;
        await writeFile(join(b.dev.root, 'doc.bin'), 'edited on B during the pull');
        await utimes(join(b.dev.root, 'doc.bin'), new Date(1_900_000_000_000), new Date(1_900_000_000_000));
        await b.local.scanNow(); // the scanner runs now (the puller owns the path: it is skipped)
      }
      return serve(id, o);
    };
    const v2 = randomBytes(300_000);
    await writeFile(join(a.dev.root, 'doc.bin'), v2);
    await a.local.scanNow();
    await converge(a, b);
    assert.ok(edited);
    const names = (await readdir(b.dev.root)).filter((n) => !n.startsWith('.')).sort();
    assert.equal(names.length, 2, names.join(', '));
    const contents = await Promise.all(names.map((n) => readFile(join(b.dev.root, n))));
    assert.ok(contents.some((c) => c.toString() === 'edited on B during the pull'), 'the local edit survives');
    assert.ok(contents.some((c) => c.equals(v2)), 'the remote version survives');
  } finally {
    await stopNode(a);
    await stopNode(b);
  }
});

/** Sealed records from a folder member that writes what it likes (a W key signs anything). */
function memberRecords(keys: FolderKeys, records: ReadonlyArray<{ path: string; kind: 'file' | 'dir'; mode: number }>): Uint8Array[] {
  return records.map((r) => encodeSealedRecord(sealRecord(keys, {
    path: r.path, kind: r.kind, size: 0, mtimeMs: 1_700_000_000_000, mode: r.mode, blocks: [], version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], deleted: false,
  })));
}

test('a member cannot write into a .sealsync state directory: any case, any depth', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const b = await makeNode('B', keys);
  try {
    await startNode(b);
    b.sync.attachPeer({ peerId: 'MEMBER', sendIndex: async () => undefined, requestBlock: async () => null, penalize: () => undefined });
    const hostile = ['.SEALSYNC', '.SEALSYNC/ignore', '.SealSync/archive', 'sub', 'sub/.sealsync', 'sub/.sealsync/ignore', 'sub/.Sealsync', 'sub/.Sealsync/ignore'];
    const records = memberRecords(keys, [
      ...hostile.map((path) => ({ path, kind: (path.endsWith('ignore') ? 'file' : 'dir') as 'file' | 'dir', mode: 0o644 })),
      { path: 'fine.txt', kind: 'file', mode: 0o644 },
    ]);
    await b.sync.receiveIndex('MEMBER', { indexId: '1111111111111111', fromSeq: 0, toSeq: records.length, records });
    await b.sync.whenPulled();
    const tree = await snapshotTree(b.dev.root);
    assert.ok('fine.txt' in tree, 'the ordinary record was applied');
    assert.deepEqual(Object.keys(tree).filter((p) => /\.sealsync/i.test(p)), [], 'nothing written under any spelling of .sealsync');
    assert.deepEqual((await readdir(b.dev.root)).filter((n) => n.toLowerCase() === '.sealsync' && n !== '.sealsync'), [], 'no other spelling of it');
    await assert.rejects(stat(join(b.dev.root, '.sealsync', 'ignore')), 'no ignore file planted in ours');
  } finally {
    await stopNode(b);
  }
});

test("a member's mode bits: files take only the exec bit (under the local umask), directories the local default; a rescan publishes nothing", async () => {
  const keys = keysFromSecret(newFolderSecret());
  const b = await makeNode('B', keys);
  const umask = process.umask(0o022);
  try {
    await startNode(b);
    b.sync.attachPeer({ peerId: 'MEMBER', sendIndex: async () => undefined, requestBlock: async () => null, penalize: () => undefined });
    const records = memberRecords(keys, [
      { path: 'open', kind: 'dir', mode: 0o777 },
      { path: 'closed', kind: 'dir', mode: 0o500 },
      { path: 'open/all.txt', kind: 'file', mode: 0o777 },
      { path: 'open/rw.txt', kind: 'file', mode: 0o666 },
      { path: 'open/private.txt', kind: 'file', mode: 0o600 },
      { path: 'open/gx.sh', kind: 'file', mode: 0o610 },
    ]);
    await b.sync.receiveIndex('MEMBER', { indexId: '1111111111111111', fromSeq: 0, toSeq: records.length, records });
    await b.sync.whenPulled();
    const modes: Record<string, string> = {};
    for (const p of ['open', 'closed', 'open/all.txt', 'open/rw.txt', 'open/private.txt', 'open/gx.sh']) {
      modes[p] = ((await stat(join(b.dev.root, p))).mode & 0o7777).toString(8);
    }
    assert.deepEqual(modes, { open: '755', closed: '755', 'open/all.txt': '755', 'open/rw.txt': '644', 'open/private.txt': '644', 'open/gx.sh': '644' });
    // The disk now differs from the records in every bit but the exec bit: that is no local edit.
    const held = b.dev.index.recordsSince(b.dev.folder, 0, 100).length;
    await b.local.scanNow();
    assert.equal(b.dev.index.recordsSince(b.dev.folder, 0, 100).length, held, 'no new version published');
    assert.deepEqual(b.dev.index.getFile(b.dev.folder, 'open/all.txt')?.record.version, [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }]);
    // A local chmod that flips the exec bit is an edit; one that keeps it is not.
    await chmod(join(b.dev.root, 'open/rw.txt'), 0o600);
    await chmod(join(b.dev.root, 'open/private.txt'), 0o755);
    await b.local.scanNow();
    assert.deepEqual(b.dev.index.getFile(b.dev.folder, 'open/rw.txt')?.record.version, [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }]);
    assert.notDeepEqual(b.dev.index.getFile(b.dev.folder, 'open/private.txt')?.record.version, [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }]);
  } finally {
    process.umask(umask);
    await stopNode(b);
  }
});

test('the status counts a pass down as its files land, not only when the pass begins and ends', async () => {
  const keys = keysFromSecret(newFolderSecret());
  const a = await makeNode('A', keys);
  const b = await makeNode('B', keys);
  const SMALL = 10;
  let releaseBig!: () => void;
  const bigHeld = new Promise<void>((r) => { releaseBig = r; });
  try {
    for (let i = 0; i < SMALL; i++) await writeFile(join(a.dev.root, `small-${i}.txt`), `small ${i}`);
    await writeFile(join(a.dev.root, 'big.bin'), randomBytes(300_000));
    await startNode(a);
    await startNode(b);
    // B's link to A holds every block of the big file until the small files are counted down.
    const link = (from: Node, to: Node, hold: boolean): FolderLink => ({
      peerId: to.dev.name,
      async sendIndex(u) {
        const ack = await to.sync.receiveIndex(from.dev.name, { indexId: from.dev.index.indexId, ...u });
        if (ack !== null) from.sync.acknowledge(to.dev.name, ack);
      },
      requestBlock: async (id) => {
        const block = await to.sync.serveBlock(id);
        if (hold && block !== null && block.byteLength > 60_000) await bigHeld;
        return block;
      },
      penalize: (r) => from.penalties.push(r),
    });
    a.sync.attachPeer(link(a, b, false));
    b.sync.attachPeer(link(b, a, true));
    const deadline = Date.now() + 8000;
    let s = b.sync.status();
    while (!(s.state === 'syncing' && s.needFiles === 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      s = b.sync.status();
    }
    assert.deepEqual([s.state, s.needFiles], ['syncing', 1], 'only the held file is still needed while its pass runs');
    assert.ok(s.progress !== undefined && s.progress.doneBytes > 0 && s.progress.percent < 100, `progress moves: ${JSON.stringify(s.progress)}`);
    // The local count follows the rows the puller writes (at most a refresh period behind), still mid-pass.
    while (b.sync.status().localFiles < SMALL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const mid = b.sync.status();
    assert.deepEqual([mid.state, mid.localFiles, mid.needFiles], ['syncing', SMALL, 1], 'the landed files are counted before the pass ends');
    releaseBig();
    await converge(a, b);
    const done = b.sync.status();
    assert.deepEqual([done.state, done.needFiles, done.needBytes], ['idle', 0, 0]);
  } finally {
    releaseBig();
    await stopNode(a);
    await stopNode(b);
  }
});
