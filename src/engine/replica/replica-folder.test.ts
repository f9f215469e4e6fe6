import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveEncrypted, keysFromSecret, newFolderSecret, type FolderKeys } from '../../crypto/keys.js';
import { sealBlock } from '../../crypto/sealed-block.js';
import { encodeSealedRecord, sealRecord } from '../../crypto/sealed-record.js';
import { openIndex, type Index } from '../../index/index.js';
import { silentLogger } from '../../logger.js';
import type { FileRecord, VersionVector } from '../../model/types.js';
import { ReplicaFolder } from './replica-folder.js';
import { MAX_PENDING_FETCHES } from './replica-block-intake.js';
import { createReplicaFolder } from './create-replica-folder.js';
import type { FolderLink } from '../peer/folder-link.js';
import { flipStoredByte, forgetBlock, fsyncGate, readStoredBytes, storedBlocks } from '../../store/testing/store-helpers.js';
import { NO_DEVICE_NOTICE } from '../peer/folder-truth.js';

const W1 = '1111111111111111';
const W2 = '2222222222222222';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A full peer's data: sealed records and the sealed blocks they reference. */
class FakeFullPeer {
  readonly blocks = new Map<string, Uint8Array>();
  readonly records: Uint8Array[] = [];
  constructor(readonly keys: FolderKeys) {}

  addFile(path: string, content: Uint8Array, version: VersionVector, chunk = 64 * 1024): FileRecord {
    const refs = [];
    for (let at = 0; at < content.length; at += chunk) {
      const b = sealBlock(this.keys.contentKey as Uint8Array, content.subarray(at, at + chunk));
      this.blocks.set(hex(b.id), b.sealed);
      refs.push({ id: b.id, hash: b.hash, size: Math.min(chunk, content.length - at) });
    }
    const rec: FileRecord = { path, kind: 'file', size: content.length, mtimeMs: 1_700_000_000_000, mode: 0o644, blocks: refs, version, deleted: false };
    this.records.push(encodeSealedRecord(sealRecord(this.keys, rec)));
    return rec;
  }
}

class FakeLink implements FolderLink {
  readonly sent: { fromSeq: number; toSeq: number; records: readonly Uint8Array[] }[] = [];
  readonly penalties: string[] = [];
  requests = 0;
  constructor(readonly peerId: string, private readonly serve: (id: string) => Uint8Array | null) {}
  async sendIndex(update: { fromSeq: number; toSeq: number; records: readonly Uint8Array[] }): Promise<void> {
    this.sent.push(update);
  }
  async requestBlock(blockId: Uint8Array): Promise<Uint8Array | null> {
    this.requests++;
    return this.serve(hex(blockId));
  }
  penalize(reason: string): void {
    this.penalties.push(reason);
  }
  sentRecords(): Uint8Array[] {
    return this.sent.flatMap((u) => [...u.records]);
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(opts: { now?: () => number; storeSyncFd?: (fd: number) => Promise<void> } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sealsync-replica-folder-'));
  const rw = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(rw);
  const index: Index = openIndex(':memory:');
  const replica = new ReplicaFolder({ path: join(dir, 'store'), keys: enc, index, logger: silentLogger(), ...opts });
  await replica.start();
  const cleanup = async () => {
    await replica.stop();
    index.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, rw, enc, index, replica, cleanup, storeRoot: join(dir, 'store') };
}

test('records from a peer are verified and stored, their blocks fetched, and relayed to another peer', async () => {
  const { rw, replica, cleanup } = await setup();
  try {
    const a = new FakeFullPeer(rw);
    a.addFile('report.pdf', new Uint8Array(randomBytes(200_000)), [{ id: W1, value: 1 }]);
    a.addFile('notes.txt', new Uint8Array(randomBytes(1000)), [{ id: W1, value: 2 }]);
    const linkA = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(linkA);
    const ack = await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 2, records: a.records });
    assert.equal(ack, 2);
    await waitFor(() => replica.wantedBlocks().length === 0, 'blocks fetched');
    replica.refreshStats();
    const st = replica.status();
    assert.equal(st.type, 'encrypted');
    assert.equal(st.globalFiles, 2);
    assert.equal(st.needFiles, 0);
    assert.equal(st.localFiles, 2);
    const sealedBytes = [...a.blocks.values()].reduce((n, b) => n + b.length, 0);
    assert.equal(st.globalBytes, sealedBytes);
    assert.equal(st.state, 'idle');
    assert.equal(linkA.requests, a.blocks.size);
    // the sender does not get its own records back
    assert.equal(linkA.sentRecords().length, 0);

    const linkB = new FakeLink('B', () => null);
    replica.attachPeer(linkB);
    await waitFor(() => linkB.sentRecords().length === 2, 'records relayed to B');
    assert.deepEqual(new Set(linkB.sentRecords().map(hex)), new Set(a.records.map(hex)));
    // and B can get every block from the replica
    for (const [id, data] of a.blocks) assert.deepEqual(await replica.serveBlock(Buffer.from(id, 'hex')), data);
  } finally {
    await cleanup();
  }
});

test('fetching goes on while written blocks wait for their fsync; a block counts as held only once committed', async () => {
  const gate = fsyncGate();
  const { rw, replica, cleanup } = await setup({ storeSyncFd: gate.syncFd });
  try {
    const a = new FakeFullPeer(rw);
    const blockCount = MAX_PENDING_FETCHES + 36;
    a.addFile('big.bin', new Uint8Array(randomBytes(blockCount * 1024)), [{ id: W1, value: 1 }], 1024);
    const linkA = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(linkA);
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records });
    // More blocks asked for than there are fetch slots, though none is durable yet.
    await waitFor(() => linkA.requests === blockCount, 'every block requested');
    replica.refreshStats();
    assert.equal(replica.status().localBytes, 0, 'nothing held before the fsync');
    assert.equal(replica.wantedBlocks().length, blockCount);
    assert.equal(replica.status().state, 'syncing');
    gate.release();
    await waitFor(() => replica.wantedBlocks().length === 0, 'blocks committed');
    replica.refreshStats();
    assert.equal(replica.status().needFiles, 0);
    assert.equal(linkA.requests, blockCount, 'each block fetched once');
  } finally {
    gate.release();
    await cleanup();
  }
});

test('a bad record is dropped and the sender penalized; a bad block is penalized and fetched from another peer', async () => {
  const { rw, replica, cleanup } = await setup();
  try {
    const a = new FakeFullPeer(rw);
    a.addFile('x.bin', new Uint8Array(randomBytes(5000)), [{ id: W1, value: 1 }]);
    const forged = new FakeFullPeer(keysFromSecret(newFolderSecret()));
    forged.addFile('evil', new Uint8Array(10), [{ id: W2, value: 9 }]);
    const liar = new FakeLink('L', () => new Uint8Array(randomBytes(5019)));
    replica.attachPeer(liar);
    await replica.receiveIndex('L', { indexId: 'cccccccccccccccc', fromSeq: 0, toSeq: 2, records: [...a.records, ...forged.records] });
    assert.ok(liar.penalties.some((p) => p.includes('ERR_SIGNATURE')), 'forged record penalized');
    await waitFor(() => liar.penalties.some((p) => p.includes('bad block')), 'bad block penalized');
    // Needed and nobody has it: waiting (with the reason), never up to date.
    await waitFor(() => replica.status().state === 'waiting', 'waiting while nobody has the block');
    replica.refreshStats();
    assert.equal(replica.status().globalFiles, 1, 'only the signed record is held');
    assert.equal(replica.status().needFiles, 1);

    const honest = new FakeLink('H', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(honest);
    await replica.receiveIndex('H', { indexId: 'dddddddddddddddd', fromSeq: 0, toSeq: 1, records: a.records });
    await waitFor(() => replica.wantedBlocks().length === 0, 'block fetched from the honest peer');
    replica.refreshStats();
    assert.equal(replica.status().needFiles, 0);
  } finally {
    await cleanup();
  }
});

test('concurrent versions from two writers are both kept and both relayed', async () => {
  const { rw, replica, cleanup } = await setup();
  try {
    const a = new FakeFullPeer(rw);
    const b = new FakeFullPeer(rw);
    a.addFile('same.txt', new Uint8Array(randomBytes(100)), [{ id: W1, value: 1 }]);
    b.addFile('same.txt', new Uint8Array(randomBytes(100)), [{ id: W2, value: 1 }]);
    const linkA = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(linkA);
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records });
    replica.detachPeer('A');
    const linkB = new FakeLink('B', (id) => b.blocks.get(id) ?? null);
    replica.attachPeer(linkB);
    await replica.receiveIndex('B', { indexId: 'bbbbbbbbbbbbbbbb', fromSeq: 0, toSeq: 1, records: b.records });
    await waitFor(() => linkB.sentRecords().length === 1, 'A version relayed to B');
    assert.equal(hex(linkB.sentRecords()[0] ?? new Uint8Array()), hex(a.records[0] ?? new Uint8Array()));
    const linkA2 = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(linkA2, { since: 1 });
    await waitFor(() => linkA2.sentRecords().length === 1, 'B version relayed to A');
    assert.equal(hex(linkA2.sentRecords()[0] ?? new Uint8Array()), hex(b.records[0] ?? new Uint8Array()));
    replica.refreshStats();
    assert.equal(replica.status().globalFiles, 1, 'one locator, two versions');
  } finally {
    await cleanup();
  }
});

test('verify detects a flipped byte, quarantines it and re-fetches from a connected peer', async () => {
  const { rw, replica, storeRoot, cleanup } = await setup();
  try {
    const a = new FakeFullPeer(rw);
    a.addFile('data.bin', new Uint8Array(randomBytes(10_000)), [{ id: W1, value: 1 }]);
    const link = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(link);
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records });
    await waitFor(() => replica.wantedBlocks().length === 0, 'fetched');
    const [id] = [...a.blocks.keys()];
    assert.ok(id);
    const stored = storedBlocks(storeRoot).find((b) => b.id === id);
    assert.ok(stored);
    flipStoredByte(stored, 100, 0x80);
    const report = await replica.verify();
    assert.equal(report.corruptCount, 1);
    assert.deepEqual(report.corrupt, [id]);
    await waitFor(() => replica.wantedBlocks().length === 0, 're-fetched');
    const refetched = storedBlocks(storeRoot).find((b) => b.id === id);
    assert.ok(refetched);
    assert.deepEqual(readStoredBytes(refetched), a.blocks.get(id));
    const clean = await replica.verify();
    assert.equal(clean.corruptCount + clean.missingCount, 0);
  } finally {
    await cleanup();
  }
});

test('gc keeps blocks of replaced versions for the retention period (injected clock)', async () => {
  let now = Date.UTC(2026, 0, 1);
  const { rw, replica, cleanup } = await setup({ now: () => now });
  try {
    const a = new FakeFullPeer(rw);
    a.addFile('f', new Uint8Array(randomBytes(3000)), [{ id: W1, value: 1 }]);
    a.addFile('f', new Uint8Array(randomBytes(3000)), [{ id: W1, value: 2 }]);
    const link = new FakeLink('A', (id) => a.blocks.get(id) ?? null);
    replica.attachPeer(link);
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records.slice(0, 1) });
    await waitFor(() => replica.wantedBlocks().length === 0, 'v1 fetched');
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 1, toSeq: 2, records: a.records.slice(1) });
    await waitFor(() => replica.wantedBlocks().length === 0, 'v2 fetched');
    const r1 = await replica.gc();
    assert.equal(r1.retired, 1);
    assert.equal(r1.deleted, 0);
    now += 31 * 24 * 3600 * 1000;
    const r2 = await replica.gc();
    assert.equal(r2.deleted, 1);
    assert.equal(r2.liveBlocks, 1);
    const r3 = await replica.gc({ retentionDays: 0 });
    assert.equal(r3.deleted, 0);
  } finally {
    await cleanup();
  }
});

test('stop leaves nothing running and a stopped folder ignores input', async () => {
  const { rw, replica, cleanup } = await setup();
  try {
    await replica.stop();
    const a = new FakeFullPeer(rw);
    a.addFile('f', new Uint8Array(10), [{ id: W1, value: 1 }]);
    assert.equal(await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records }), null);
    assert.equal(await replica.serveBlock(new Uint8Array(32)), null);
  } finally {
    await cleanup();
  }
});

test('createReplicaFolder runs only encrypted keys and uses the row the daemon made', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sealsync-replica-init-'));
  const rw = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(rw);
  const index = openIndex(':memory:');
  try {
    const row = index.addFolder({ path: join(dir, 's'), folderId: hex(enc.folderId), type: 'encrypted' });
    assert.throws(() => createReplicaFolder({ folder: { path: join(dir, 's') }, keys: rw, index, folderRowId: row.rowId, logger: silentLogger() }));
    const f = createReplicaFolder({ folder: { path: join(dir, 's') }, keys: enc, index, folderRowId: row.rowId, logger: silentLogger() }, { retentionDays: 7 });
    await f.start();
    assert.equal(index.listFolders().length, 1);
    // No device shares it yet: not "up to date".
    assert.deepEqual([f.status().state, f.status().notice], ['unshared', NO_DEVICE_NOTICE]);
    await f.stop();
  } finally {
    index.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a restarted replica finds its records and blocks again and wants only what is missing', async () => {
  const { rw, enc, index, replica, storeRoot, cleanup } = await setup();
  try {
    const a = new FakeFullPeer(rw);
    a.addFile('one', new Uint8Array(randomBytes(3000)), [{ id: W1, value: 1 }]);
    a.addFile('two', new Uint8Array(randomBytes(3000)), [{ id: W1, value: 2 }]);
    replica.attachPeer(new FakeLink('A', (id) => a.blocks.get(id) ?? null));
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 2, records: a.records });
    await waitFor(() => replica.wantedBlocks().length === 0, 'fetched');
    await replica.stop();
    // One block lost while stopped, and a crash leftover (an uncommitted pack tail).
    // (The first block of the pack: the committed length stays that of the other one.)
    const held = storedBlocks(storeRoot).sort((x, y) => x.offset - y.offset);
    assert.equal(held.length, 2);
    const lost = held[0]!.id;
    assert.ok(a.blocks.has(lost));
    const pack = held[0]!.file;
    const committedSize = (await stat(pack)).size;
    forgetBlock(storeRoot, lost);
    await appendFile(pack, 'partial');
    const again = new ReplicaFolder({ path: storeRoot, keys: enc, index, logger: silentLogger() });
    await again.start();
    try {
      assert.deepEqual(again.wantedBlocks(), [lost]);
      again.refreshStats();
      assert.equal(again.status().globalFiles, 2);
      assert.equal(again.status().needFiles, 1);
      assert.deepEqual([again.status().state, again.status().notice], ['waiting', NO_DEVICE_NOTICE], 'nothing to fetch from while no peer is connected');
      again.attachPeer(new FakeLink('A', (id) => a.blocks.get(id) ?? null));
      await waitFor(() => again.wantedBlocks().length === 0, 'the lost block fetched again');
      const stored = storedBlocks(storeRoot).find((b) => b.id === lost);
      assert.ok(stored);
      assert.deepEqual([stored.file, stored.offset], [pack, committedSize], 'the crash leftover (uncommitted tail) was cut at start');
    } finally {
      await again.stop();
    }
  } finally {
    await cleanup();
  }
});

test('a block retained by gc comes back without the network when a newer record references it again (undo)', async () => {
  let now = Date.UTC(2026, 0, 1);
  const { rw, replica, cleanup } = await setup({ now: () => now });
  try {
    const a = new FakeFullPeer(rw);
    const original = new Uint8Array(randomBytes(4000));
    a.addFile('doc', original, [{ id: W1, value: 1 }]);
    a.addFile('doc', new Uint8Array(randomBytes(4000)), [{ id: W1, value: 2 }]); // ransomware-style overwrite
    a.addFile('doc', original, [{ id: W1, value: 3 }]); // the user restores the old content
    const serving = { on: true };
    replica.attachPeer(new FakeLink('A', (id) => (serving.on ? a.blocks.get(id) ?? null : null)));
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 0, toSeq: 1, records: a.records.slice(0, 1) });
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 1, toSeq: 2, records: a.records.slice(1, 2) });
    await waitFor(() => replica.wantedBlocks().length === 0, 'both versions fetched');
    const r = await replica.gc();
    assert.equal(r.retired, 1, 'the original block is retained, not deleted');
    now += 24 * 3600 * 1000;
    serving.on = false; // nobody can send it again: it must come from the retained area
    await replica.receiveIndex('A', { indexId: 'aaaaaaaaaaaaaaaa', fromSeq: 2, toSeq: 3, records: a.records.slice(2) });
    await waitFor(() => replica.wantedBlocks().length === 0, 'revived locally');
    replica.refreshStats();
    assert.equal(replica.status().needFiles, 0);
    const [origId] = [...a.blocks.keys()];
    assert.ok(origId);
    assert.deepEqual(await replica.serveBlock(Buffer.from(origId, 'hex')), a.blocks.get(origId));
  } finally {
    await cleanup();
  }
});
