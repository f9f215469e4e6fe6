// Folder members against a running daemon's index pipeline, as the outside
// review attacked it: a replay storm (one valid record repeated 10,000 times
// per update) against a full peer, and updates made of records the receiver
// already holds newer versions of against an encrypted peer (the replica's
// engine). Each test asserts the peer is charged and dropped, that an honest
// pattern of the same records is not, that `status` answers within 2 s, that
// an honest peer still joins, and that the daemon's RSS stays under the
// stated bound.
import { describe, test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  deriveEncrypted, encodeSealedRecord, formatKey, keysFromSecret, newFolderSecret, sealRecord, type FolderKeys,
} from '../../src/crypto/index.js';
import type { FileRecord } from '../../src/model/types.js';
import {
  INDEX_UPDATE_MEMORY_BYTES, MAX_MISBEHAVIOUR, MAX_QUEUED_INDEX_UPDATES, MAX_RECORDS_PER_INDEX_MESSAGE,
  MIN_RECORDS_FOR_DOMINATED_CHARGE, PENALTY,
} from '../../src/net/limits.js';
import type { HostileClient } from '../../src/net/testing/hostile-client.js';
import { TestHome, type DaemonProcess } from './helpers/harness.js';
import { assertStatusAnswers, joinedAttacker, legitPeerJoins, rssMiB, waitIndexAck } from './helpers/attack.js';

const MIB = 1024 * 1024;
/**
 * What the daemon's RSS may grow by while a member attacks its index: the
 * index updates the session lets the engine hold, each at its documented
 * bound, plus 64 MiB that is not the attacker's doing (V8's heap between
 * collections, SQLite's page cache, a hash worker starting). The review's
 * storm grew it by 535 MiB and still climbing.
 */
const INDEX_ATTACK_RSS_MIB = (MAX_QUEUED_INDEX_UPDATES * INDEX_UPDATE_MEMORY_BYTES) / MIB + 64;
const WRITER_ID = 'a1a1a1a1a1a1a1a1';
const INDEX_ID = 'b2b2b2b2b2b2b2b2';

/** A deleted file's record: valid and signed, and nothing to fetch or write when applied. */
function deletedRecord(keys: FolderKeys, path: string, value: number): Uint8Array {
  const record: FileRecord = {
    path, kind: 'file', size: 0, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: WRITER_ID, value }], deleted: true,
  };
  return encodeSealedRecord(sealRecord(keys, record));
}

/** Resolves once the socket has handed everything written so far to the kernel. */
function flushed(c: HostileClient): Promise<void> {
  return new Promise((resolve) => c.socket.write(Buffer.alloc(0), () => resolve()));
}

function waitAck(c: HostileClient, seq: number): Promise<void> {
  return waitIndexAck(c, INDEX_ID, seq);
}

interface Daemon {
  h: TestHome;
  process: DaemonProcess;
  address: string;
  baseRss: number;
}

/** A daemon sharing `key`'s folder (W: a full peer; E: an encrypted replica). */
async function daemonWith(key: string, joinKeys: FolderKeys): Promise<Daemon> {
  const h = await TestHome.create();
  const dir = join(h.root, 'shared');
  await mkdir(dir);
  if (key.startsWith('W')) await writeFile(join(dir, 'hello.txt'), 'hello from the daemon');
  const process = await h.startDaemon();
  await h.cliOk(['folder', 'add', dir, '--key', key]);
  // Scanned and waiting for a peer (no device that shares it is connected yet).
  await h.waitForFolder(dir, (f) => f.state === 'unshared', { description: 'folder ready' });
  const address = (await h.status()).device.listen[0] as string;
  // A record to announce, so an honest peer has an index to receive from a replica too.
  const seed = await joinedAttacker(address, joinKeys, 'seeder', '127.0.4.250');
  await seed.sendIndex({ folderId: joinKeys.folderId, indexId: INDEX_ID, fromSeq: 0, toSeq: 1, records: [deletedRecord(joinKeys, 'seed.txt', 1)] });
  await waitAck(seed, 1);
  seed.destroy();
  return { h, process, address, baseRss: await rssMiB(process.pid) };
}

async function assertRssBounded(t: TestContext, d: Daemon, peak: number, what: string): Promise<void> {
  const now = await rssMiB(d.process.pid);
  const worst = Math.max(peak, now);
  t.diagnostic(`${what}: RSS ${d.baseRss.toFixed(0)} MiB before, peak ${worst.toFixed(0)} MiB, bound ${(d.baseRss + INDEX_ATTACK_RSS_MIB).toFixed(0)} MiB`);
  assert.ok(worst <= d.baseRss + INDEX_ATTACK_RSS_MIB, `${what}: RSS peaked at ${worst.toFixed(0)} MiB, over ${d.baseRss.toFixed(0)} + ${INDEX_ATTACK_RSS_MIB.toFixed(0)} MiB`);
}

describe('a full peer under a replay storm', () => {
  const keys = keysFromSecret(newFolderSecret());
  let d: Daemon;
  before(async () => {
    d = await daemonWith(formatKey(keys), keys);
  });
  after(async () => {
    await d?.h.cleanup();
  });

  test('one record repeated 10,000 times per update: charged, dropped, memory bounded', async (t) => {
    const record = deletedRecord(keys, 'storm.txt', 1);
    const storm = new Array<Uint8Array>(MAX_RECORDS_PER_INDEX_MESSAGE).fill(record);
    const c = await joinedAttacker(d.address, keys, 'storm', '127.0.4.1');
    // Charged PENALTY.replayedRecords per update: over the budget after this many.
    const enough = Math.ceil((MAX_MISBEHAVIOUR + 1) / PENALTY.replayedRecords);
    let peak = 0;
    let sent = 0;
    try {
      for (; sent < enough * 3 && !c.closed; sent++) {
        await c.sendIndex({ folderId: keys.folderId, indexId: INDEX_ID, fromSeq: sent, toSeq: sent + 1, records: storm });
        await flushed(c);
        peak = Math.max(peak, await rssMiB(d.process.pid));
      }
      assert.equal(await c.waitClosed(15_000), 'misbehaviour', 'the replaying member is dropped');
      t.diagnostic(`${sent} updates of ${storm.length} records sent before the close arrived; the budget is spent by update ${enough}`);
    } finally {
      c.destroy();
    }
    await assertStatusAnswers(d.h);
    await assertRssBounded(t, d, peak, 'replay storm');
    assert.ok(await legitPeerJoins(d.address, keys, 'legit-after-storm', '127.0.4.2') > 0);
    const s = await d.h.status();
    assert.ok(s.folders.every((f) => f.state !== 'error'), 'the folder is unharmed');
  });
});

describe('an encrypted peer fed dominated records', () => {
  const keys = keysFromSecret(newFolderSecret());
  let d: Daemon;
  before(async () => {
    d = await daemonWith(formatKey(deriveEncrypted(keys)), keys);
  });
  after(async () => {
    await d?.h.cleanup();
  });

  test('an honest relay pattern is free; updates of mostly dominated records are charged and dropped, from the first one', async (t) => {
    const paths = Array.from({ length: MIN_RECORDS_FOR_DOMINATED_CHARGE + 16 }, (_, i) => `old/${i}.txt`);
    const newest = 1000;
    let peak = 0;
    const sender = (c: HostileClient) => {
      let seq = 0;
      return {
        get seq() { return seq; },
        async send(records: Uint8Array[]) {
          await c.sendIndex({ folderId: keys.folderId, indexId: INDEX_ID, fromSeq: seq, toSeq: seq + 1, records });
          seq++;
          await flushed(c);
          peak = Math.max(peak, await rssMiB(d.process.pid));
        },
      };
    };
    // A writer stores the newest version of every path.
    const writer = await joinedAttacker(d.address, keys, 'writer', '127.0.5.1');
    const w = sender(writer);
    await w.send(paths.map((p) => deletedRecord(keys, p, newest)));
    await waitAck(writer, w.seq);
    // An honest relay: a few records we hold newer versions of, among new ones, in more
    // updates than the budget has points: never charged.
    const honestUpdates = MAX_MISBEHAVIOUR + 4;
    for (let k = 1; k <= honestUpdates; k++) {
      const stale = paths.slice(0, 8).map((p) => deletedRecord(keys, p, k));
      const fresh = Array.from({ length: 56 }, (_, i) => deletedRecord(keys, `new/${k}/${i}.txt`, 1));
      await w.send([...stale, ...fresh]);
    }
    await waitAck(writer, w.seq);
    assert.equal(writer.closed, false, 'a relay sending a few old records is not charged');
    writer.destroy();
    // Replays of old versions, every record of each update dominated (and none repeated), sent
    // the moment the member joined: before its link is attached (that waits up to 2 s for the
    // member's IndexAck, which it never sends). Exactly as many updates as the budget allows
    // plus one: every one must be charged.
    const chargedAfter = Math.ceil((MAX_MISBEHAVIOUR + 1) / PENALTY.dominatedRecords);
    const replays = Array.from({ length: chargedAfter }, (_, k) => paths.map((p) => deletedRecord(keys, p, honestUpdates + k + 1)));
    const c = await joinedAttacker(d.address, keys, 'relic', '127.0.5.2');
    try {
      const r = sender(c);
      const t0 = Date.now();
      for (const records of replays) await r.send(records);
      assert.equal(await c.waitClosed(20_000), 'misbehaviour', 'the member replaying old records is dropped');
      t.diagnostic(`${replays.length} updates of ${paths.length} dominated records sent; closed ${Date.now() - t0} ms after the first`);
    } finally {
      c.destroy();
    }
    await assertStatusAnswers(d.h);
    await assertRssBounded(t, d, peak, 'dominated records');
    assert.ok(await legitPeerJoins(d.address, keys, 'legit-after-relic', '127.0.5.3') > 0);
  });
});
