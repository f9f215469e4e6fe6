import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveEncrypted, keysFromSecret, newFolderSecret, type FolderKeys } from '../../crypto/keys.js';
import { encodeSealedRecord, sealRecord } from '../../crypto/sealed-record.js';
import { openIndex } from '../../index/index.js';
import type { FileRecord, VersionVector } from '../../model/types.js';
import { ReplicaRecordStore } from './replica-records.js';
import { HashPool } from '../../fs/hash-pool.js';

const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

function record(path: string, version: VersionVector, blockCount = 1): FileRecord {
  const blocks = Array.from({ length: blockCount }, () => ({
    id: new Uint8Array(randomBytes(32)),
    hash: new Uint8Array(randomBytes(32)),
    size: 1000,
  }));
  return { path, kind: 'file', size: 1000 * blockCount, mtimeMs: 1_700_000_000_000, mode: 0o644, blocks, version, deleted: false };
}

function sealed(keys: FolderKeys, rec: FileRecord): Uint8Array {
  return encodeSealedRecord(sealRecord(keys, rec));
}

function setup() {
  const rw = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(rw);
  const index = openIndex(':memory:');
  const folder = index.addFolder({ path: '/srv/replica', folderId: Buffer.from(enc.folderId).toString('hex'), type: 'encrypted' });
  const store = new ReplicaRecordStore({ index, folderRowId: folder.rowId, keys: enc });
  return { rw, enc, index, folder, store };
}

test('a signed record is stored with its block ids; the same record again is ignored', async () => {
  const { rw, store, index } = setup();
  try {
    const rec = record('secret-plans.txt', [{ id: A, value: 1 }], 2);
    const r = await store.accept([sealed(rw, rec)]);
    assert.equal(r.stored, 1);
    assert.equal(r.rejected, 0);
    assert.deepEqual([...r.blockIds].sort(), rec.blocks.map((b) => Buffer.from(b.id!).toString('hex')).sort());
    assert.equal(store.seq, 1);
    const again = await store.accept([sealed(rw, rec)]);
    assert.equal(again.stored, 0);
    assert.equal(again.ignored, 1);
    assert.equal(store.referencedBlocks().size, 2);
  } finally {
    index.close();
  }
});

test('records with a bad signature, from another folder, or malformed are rejected and not stored', async () => {
  const { rw, store, index } = setup();
  try {
    const good = sealed(rw, record('a', [{ id: A, value: 1 }]));
    const tampered = new Uint8Array(good);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    const otherFolder = sealed(keysFromSecret(newFolderSecret()), record('b', [{ id: A, value: 1 }]));
    const garbage = new Uint8Array(randomBytes(200));
    const r = await store.accept([tampered, otherFolder, garbage]);
    assert.equal(r.stored, 0);
    assert.equal(r.rejected, 3);
    assert.equal(r.rejectCode, 'ERR_SIGNATURE');
    assert.equal(store.seq, 0);
    assert.equal(store.referencedBlocks().size, 0);
  } finally {
    index.close();
  }
});

test('concurrent versions are all kept; a dominating version replaces them', async () => {
  const { rw, store, index, folder } = setup();
  try {
    const v1 = record('doc.txt', [{ id: A, value: 1 }]);
    const left = record('doc.txt', [{ id: A, value: 2 }]);
    const right = record('doc.txt', [{ id: A, value: 1 }, { id: B, value: 2 }]);
    await store.accept([sealed(rw, v1)]);
    const r = await store.accept([sealed(rw, left), sealed(rw, right)]);
    assert.equal(r.stored, 2);
    assert.equal(r.replaced, 1, 'both dominate v1, which goes');
    const locator = index.recordsSince(folder.rowId, 0, 10)[0]?.locator;
    assert.ok(locator);
    assert.equal(index.currentRecords(folder.rowId, locator).length, 2);
    assert.equal(store.referencedBlocks().size, 2);

    const merged = record('doc.txt', [{ id: A, value: 3 }, { id: B, value: 2 }]);
    const m = await store.accept([sealed(rw, merged)]);
    assert.equal(m.stored, 1);
    assert.equal(m.replaced, 2);
    assert.equal(index.currentRecords(folder.rowId, locator).length, 1);
    // an old version arriving late is dominated and ignored
    const late = await store.accept([sealed(rw, left)]);
    assert.equal(late.ignored, 1);
    assert.deepEqual(store.referencedBlocks(), new Set([Buffer.from(merged.blocks[0]?.id ?? []).toString('hex')]));
  } finally {
    index.close();
  }
});

test('many records are processed in slices and all verified', async () => {
  const { rw, store, index } = setup();
  try {
    const batch = Array.from({ length: 600 }, (_, i) => sealed(rw, record(`f${i}`, [{ id: A, value: 1 }])));
    const r = await store.accept(batch);
    assert.equal(r.stored, 600);
    assert.equal([...store.walk()].length, 600);
  } finally {
    index.close();
  }
});

test('a large update verified on the hash workers is stored and rejected exactly as inline', async () => {
  const rw = keysFromSecret(newFolderSecret());
  const enc = deriveEncrypted(rw);
  const records = Array.from({ length: 300 }, (_, i) => sealed(rw, record(`f${i}`, [{ id: A, value: 1 }])));
  records[5] = sealed(keysFromSecret(newFolderSecret()), record('other', [{ id: A, value: 1 }]));
  const tampered = new Uint8Array(records[270]!);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  records[270] = tampered;
  records[280] = new Uint8Array(randomBytes(200));
  const intake = async (checker: HashPool | null) => {
    const index = openIndex(':memory:');
    const folder = index.addFolder({ path: '/srv/replica', folderId: Buffer.from(enc.folderId).toString('hex'), type: 'encrypted' });
    const store = new ReplicaRecordStore({ index, folderRowId: folder.rowId, keys: enc, ...(checker ? { checker } : {}) });
    try {
      const seqs: number[] = [];
      const r = await store.accept(records, { onStored: (s) => seqs.push(s) });
      const rows = index.recordsSince(folder.rowId, 0, 1000).map((row) => Buffer.from(row.sealed).toString('hex'));
      return { ...r, announced: r.announced.length, seqs, rows };
    } finally {
      index.close();
    }
  };
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    const offloaded = await intake(pool);
    assert.deepEqual(offloaded, await intake(null));
    assert.equal(offloaded.stored, 297);
    assert.equal(offloaded.rejected, 3);
    assert.equal(offloaded.rejectCode, 'ERR_SIGNATURE');
  } finally {
    await pool.stop();
  }
});

test('our own index failing mid-batch throws, and no rolled-back sequence number is reported as stored', async () => {
  const { rw, store, index, folder } = setup();
  try {
    const records = ['a', 'b', 'c'].map((p) => sealed(rw, record(p, [{ id: A, value: 1 }])));
    const realPut = index.putRemoteRecord.bind(index);
    index.putRemoteRecord = (f, rec) => {
      if (rec.sealed === records[2]) throw new Error('SQLITE_FULL: database or disk is full');
      return realPut(f, rec);
    };
    const reported: number[] = [];
    await assert.rejects(store.accept(records, { onStored: (seq) => reported.push(seq) }), /SQLITE_FULL/);
    assert.deepEqual(reported, [], 'the first two were rolled back with the third');
    assert.equal(index.recordsSince(folder.rowId, 0, 10).length, 0);
  } finally {
    index.close();
  }
});
