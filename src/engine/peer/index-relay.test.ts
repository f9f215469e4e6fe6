import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openIndex } from '../../index/index.js';
import { silentLogger } from '../../logger.js';
import { IndexRelay, chargeDominatedUpdate } from './index-relay.js';
import type { FolderLink } from './folder-link.js';
import { MIN_RECORDS_FOR_DOMINATED_CHARGE, PENALTY } from '../../net/limits.js';

function setup() {
  const index = openIndex(':memory:');
  const folder = index.addFolder({ path: '/f', folderId: 'ab'.repeat(32), type: 'encrypted' }).rowId;
  let running = true;
  const relay = new IndexRelay({ index, folderRowId: () => folder, logger: silentLogger(), isRunning: () => running });
  /** `withheld`: records whose envelope says their block ids are withheld (flags byte 3, as sealRecordBytes sets it). */
  const put = (n: number, withheld = false) => {
    const seqs: number[] = [];
    for (let i = 0; i < n; i++) {
      const sealed = new Uint8Array(randomBytes(40));
      sealed[3] = withheld ? 3 : 1;
      const r = index.putRecord(folder, {
        locator: new Uint8Array(randomBytes(32)), version: [{ id: 'aaaaaaaaaaaaaaaa', value: 1 }], blockIds: [], sealed,
      });
      if (r.seq !== null) seqs.push(r.seq);
    }
    return seqs;
  };
  const link = (peerId: string, readsPlaintext = false) => {
    const sent: { fromSeq: number; toSeq: number; records: number }[] = [];
    const l: FolderLink = {
      peerId,
      readsPlaintext,
      sendIndex: async (u) => { sent.push({ fromSeq: u.fromSeq, toSeq: u.toSeq, records: u.records.length }); },
      requestBlock: async () => null,
      penalize: () => undefined,
    };
    return { l, sent };
  };
  return { index, folder, relay, put, link, stop: () => { running = false; } };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

test('records that withhold their block ids go to readers only; an encrypted peer moves past them', async () => {
  const { index, relay, put, link } = setup();
  try {
    put(1);
    put(2, true);
    put(1);
    const reader = link('R', true);
    const encrypted = link('E');
    relay.attach(reader.l);
    relay.attach(encrypted.l);
    relay.wake();
    await settle();
    assert.deepEqual(reader.sent, [{ fromSeq: 0, toSeq: 4, records: 4 }]);
    assert.deepEqual(encrypted.sent, [{ fromSeq: 0, toSeq: 4, records: 2 }]);
  } finally {
    index.close();
  }
});

test('sends the delta past the cursor, skips the peer\'s own records and still moves its cursor', async () => {
  const { index, relay, put, link } = setup();
  try {
    put(3);
    const { l, sent } = link('P');
    relay.attach(l, 1);
    relay.wake();
    await settle();
    assert.deepEqual(sent, [{ fromSeq: 1, toSeq: 3, records: 2 }]);
    // Two records that came from P itself: an empty update moves P's view on.
    for (const seq of put(2)) relay.markFromPeer('P', seq);
    relay.wake();
    await settle();
    assert.deepEqual(sent.at(-1), { fromSeq: 3, toSeq: 5, records: 0 });
    relay.acknowledge('P', 99); // beyond our sequence: ignored
    put(1);
    relay.wake('P');
    await settle();
    assert.deepEqual(sent.at(-1), { fromSeq: 5, toSeq: 6, records: 1 });
  } finally {
    index.close();
  }
});

test('a range made only of the peer\'s own records is skipped without reading it; a record of ours in it is sent', async () => {
  const { index, relay, put, link } = setup();
  try {
    const { l, sent } = link('P');
    relay.attach(l, 0);
    let reads = 0;
    const recordsSince = index.recordsSince.bind(index);
    index.recordsSince = (...args) => {
      reads++;
      return recordsSince(...args);
    };
    for (const seq of put(2500)) relay.markFromPeer('P', seq); // more than one page
    relay.wake();
    await settle();
    assert.deepEqual(sent, [{ fromSeq: 0, toSeq: 2500, records: 0 }]);
    assert.equal(reads, 0);
    // The peer's record, then one of ours: read and sent as usual.
    for (const seq of put(1)) relay.markFromPeer('P', seq);
    put(1);
    relay.wake();
    await settle();
    assert.deepEqual(sent.at(-1), { fromSeq: 2500, toSeq: 2502, records: 1 });
    assert.ok(reads > 0);
  } finally {
    index.close();
  }
});

test('peer progress moves only over contiguous ranges and resets with a new index id', () => {
  const { index, relay } = setup();
  try {
    relay.recordProgress('P', { indexId: '1111111111111111', fromSeq: 0, toSeq: 10 });
    assert.equal(relay.peerProgress('P')?.maxSeq, 10);
    relay.recordProgress('P', { indexId: '1111111111111111', fromSeq: 15, toSeq: 20 }); // gap 10..15
    assert.equal(relay.peerProgress('P')?.maxSeq, 10);
    relay.recordProgress('P', { indexId: '1111111111111111', fromSeq: 10, toSeq: 20 });
    assert.equal(relay.peerProgress('P')?.maxSeq, 20);
    relay.recordProgress('P', { indexId: '2222222222222222', fromSeq: 0, toSeq: 3 }); // the peer reset its database
    assert.deepEqual(relay.peerProgress('P'), { indexId: '2222222222222222', maxSeq: 3 });
  } finally {
    index.close();
  }
});

test('nothing is sent after detach or stop', async () => {
  const { index, relay, put, link, stop } = setup();
  try {
    put(2);
    const { l, sent } = link('P');
    relay.attach(l);
    relay.detach('P');
    relay.wake();
    const q = link('Q');
    relay.attach(q.l);
    stop();
    relay.wake();
    await settle();
    assert.deepEqual(sent, []);
    assert.deepEqual(q.sent, []);
    assert.equal(relay.size, 1);
    relay.clear();
    assert.equal(relay.size, 0);
  } finally {
    index.close();
  }
});

test('an update is charged only when it is large and mostly dominated records', () => {
  const charges: [string, number | undefined][] = [];
  const link: FolderLink = {
    peerId: 'p', sendIndex: async () => undefined, requestBlock: async () => null, penalize: (reason, cost) => { charges.push([reason, cost]); },
  };
  const n = MIN_RECORDS_FOR_DOMINATED_CHARGE;
  chargeDominatedUpdate(link, n - 1, n - 1); // small: an honest relay's catch-up
  chargeDominatedUpdate(link, n * 2, n); // half, not most
  chargeDominatedUpdate(link, 10_000, 10); // a few among many
  assert.deepEqual(charges, []);
  chargeDominatedUpdate(link, n, Math.floor(n / 2) + 1);
  chargeDominatedUpdate(link, 10_000, 10_000);
  assert.deepEqual(charges.map((c) => c[1]), [PENALTY.dominatedRecords, PENALTY.dominatedRecords]);
  chargeDominatedUpdate(undefined, 10_000, 10_000); // a peer already detached: nothing to charge
});
