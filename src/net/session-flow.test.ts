// Flow control and replay charges of a PeerSession, over a real loopback TLS pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keysFromSecret, newFolderSecret, sealRecord, encodeSealedRecord, type FolderKeys } from '../crypto/index.js';
import { sessionPair } from './testing/session-pair.js';
import { MemoryDirectory, waitFor, waitUntil } from './testing/fixtures.js';
import { MAX_FREE_REPLAYED_RECORDS_PER_UPDATE, MAX_QUEUED_INDEX_UPDATES, PENALTY } from './limits.js';
import type { ReceivedIndex } from './session.js';

function record(keys: FolderKeys, i: number): Uint8Array {
  return encodeSealedRecord(sealRecord(keys, {
    path: `f-${i}.txt`, kind: 'file', size: 0, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: '0123456789abcdef', value: 1 }], deleted: false,
  }));
}

async function joinedPair(keys: FolderKeys, onIndex: (m: ReceivedIndex) => void) {
  const f = { folderId: keys.folderId, accessSecret: keys.accessSecret };
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c, s) => {
      joined = waitFor(c, 'joined');
      s.on('index', onIndex);
    },
  });
  await joined;
  return pair;
}

test('updates the engine holds stop the session from reading; each release lets one more in, in order', async (t) => {
  const keys = keysFromSecret(newFolderSecret());
  const got: ReceivedIndex[] = [];
  const releases: (() => void)[] = [];
  const pair = await joinedPair(keys, (m) => {
    got.push(m);
    releases.push(m.hold());
  });
  t.after(() => pair.close());
  const total = MAX_QUEUED_INDEX_UPDATES + 6;
  for (let i = 0; i < total; i++) {
    void pair.client.sendIndex({ folderId: keys.folderId, indexId: 'a1b2c3d4e5f60718', fromSeq: i, toSeq: i + 1, records: [record(keys, i)] });
  }
  await waitUntil(() => got.length === MAX_QUEUED_INDEX_UPDATES, 5000, 'the first updates');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.length, MAX_QUEUED_INDEX_UPDATES, 'nothing more is handed over while the engine holds its fill');
  releases[0]?.();
  releases[0]?.(); // a second call of the same release changes nothing
  await waitUntil(() => got.length === MAX_QUEUED_INDEX_UPDATES + 1, 5000, 'one more update');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got.length, MAX_QUEUED_INDEX_UPDATES + 1);
  // Releasing as they come lets the rest through, in order.
  while (got.length < total) {
    const n = got.length;
    for (const r of releases) r();
    await waitUntil(() => got.length > n, 5000, 'the next update');
  }
  assert.deepEqual(got.map((m) => m.toSeq), Array.from({ length: total }, (_, i) => i + 1));
  // An update nobody holds is done when its listeners return: no stall.
  for (const r of releases) r();
  assert.equal(pair.server.isOpen, true);
});

test('replayed records are dropped; past a few per update, the update is charged', async (t) => {
  const keys = keysFromSecret(newFolderSecret());
  const got: ReceivedIndex[] = [];
  const pair = await joinedPair(keys, (m) => got.push(m));
  t.after(() => pair.close());
  const r = record(keys, 1);
  const send = (records: Uint8Array[], seq: number) =>
    pair.client.sendIndex({ folderId: keys.folderId, indexId: 'a1b2c3d4e5f60718', fromSeq: seq, toSeq: seq + 1, records });
  await send(new Array<Uint8Array>(MAX_FREE_REPLAYED_RECORDS_PER_UPDATE + 1).fill(r), 0);
  await waitUntil(() => got.length === 1, 5000, 'the first update');
  assert.equal(got[0]?.records.length, 1, 'one copy reaches the engine');
  assert.equal(got[0]?.replayed, MAX_FREE_REPLAYED_RECORDS_PER_UPDATE);
  assert.equal(pair.server.misbehaviour().score, 0, 'a few replays are free');
  // The same record again, in a later update, beyond the free few: charged.
  await send(new Array<Uint8Array>(MAX_FREE_REPLAYED_RECORDS_PER_UPDATE + 1).fill(r), 1);
  await waitUntil(() => got.length === 2, 5000, 'the second update');
  assert.equal(got[1]?.records.length, 0);
  assert.equal(pair.server.misbehaviour().score, PENALTY.replayedRecords);
  assert.equal(pair.server.misbehaviour().reasons['replayed sealed records'], 1);
});
