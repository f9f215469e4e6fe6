/**
 * A malicious encrypted server against signed heads (issue 17, acceptance):
 *
 *   A (W) ──► S (E)        real daemons: the honest history, in two states
 *   M ──► B (R)            M: S's tampered store, served by a test double that
 *                          speaks the real protocol (HostileClient); B: a real daemon
 *
 * A writes f.txt, d.txt and g.txt; S keeps the records and A's head #h1.
 * A then rewrites f.txt, deletes d.txt and adds e.txt; S keeps the new
 * records and head #h2. The sealed records and head pages are read from S's
 * own index database after each state (what a server that kept old copies
 * has). Then, with A and S stopped, M serves B - a fresh device that has
 * seen the newest head - three attacks:
 *   - replay: f.txt's first version;
 *   - resurrection: d.txt as it was before it was deleted;
 *   - mixed heads: both heads, f and d from the first state, e from the second.
 * B must refuse every record older than the newest head (nothing of them on
 * disk or in its index), keep the ones current at it, and say so in its
 * status: a 'rollback' problem naming A's device, and "the server may be
 * withholding updates from A since TIME" once the head's versions fail to
 * arrive. On the old code B applies the old records (or drops the session
 * at the unknown Head message) and every one of these tests fails.
 *
 * The files are empty so no block has to be served: whether a record was
 * applied shows on disk at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newestHead, readServerState, type ServerState } from './helpers/server-state.js';
import { deriveEncrypted, deriveReadOnly, formatKey, keysFromSecret, locatorFor, newFolderSecret, type FolderKeys } from '../../src/crypto/index.js';
import { decodeHeadPage, type SignedHeadRoot } from '../../src/crypto/signed-head.js';
import { decodeSealedRecord } from '../../src/crypto/sealed-record.js';
import { toHex } from '../../src/crypto/bytes.js';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import type { HostileClient } from '../../src/net/testing/hostile-client.js';
import { TestHome, pollUntil } from './helpers/harness.js';
import { joinedAttacker, waitIndexAck } from './helpers/attack.js';

const SYNC_TIMEOUT_MS = 30_000;
const INDEX_ID = 'c3c3c3c3c3c3c3c3';
/** B reports withholding this long after it learned a head whose versions do not arrive. */
const GRACE_MS = 1000;

async function listenAddress(h: TestHome): Promise<string> {
  const addr = (await h.status()).device.listen.find((a) => a.includes('127.0.0.1'));
  assert.ok(addr, 'daemon reports its listen address');
  return addr;
}

function waitAck(c: HostileClient, seq: number): Promise<void> {
  return waitIndexAck(c, INDEX_ID, seq);
}

describe('a malicious encrypted server against signed heads', () => {
  const keys: FolderKeys = keysFromSecret(newFolderSecret());
  const eKeys = deriveEncrypted(keys);
  let a: TestHome;
  let s: TestHome;
  let dirA: string;
  let store: string;
  let aDevice = '';
  let state1: ServerState;
  let state2: ServerState;
  const homes: TestHome[] = [];
  const loc = (path: string) => toHex(locatorFor(keys, path));
  /** The one record S held for `path` in a state. */
  const recordOf = (st: ServerState, path: string): Uint8Array => {
    const list = st.records.get(loc(path));
    assert.ok(list && list.length === 1, `S held one version of ${path}`);
    return list[0]!;
  };

  /** S's head for A once it lists `paths` as A's device signed them last. */
  async function waitServerHead(minNumber: number): Promise<ServerState> {
    return pollUntil(async () => {
      const st = readServerState(s.paths.index);
      const own = readServerState(a.paths.index).heads; // A's own index: its head is stored there too
      const aNumber = newestHead({ records: new Map(), heads: own });
      const sNumber = newestHead(st);
      return aNumber >= minNumber && sNumber === aNumber ? st : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: `S to hold A's head #${minNumber} or later` });
  }

  before(async () => {
    a = await TestHome.create({ name: 'a' });
    s = await TestHome.create({ name: 's', root: a.root });
    dirA = join(a.root, 'folder-a');
    store = join(a.root, 'store-s');
    await mkdir(dirA);
    await mkdir(store);
    for (const name of ['f.txt', 'd.txt', 'g.txt']) await writeFile(join(dirA, name), '');
    const [dA] = await Promise.all([a.startDaemon(), s.startDaemon()]);
    aDevice = (await a.status()).device.id;
    await a.cliOk(['folder', 'add', dirA, '--key', formatKey(keys)]);
    await s.cliOk(['folder', 'add', store, '--key', formatKey(eKeys)]);
    await a.cliOk(['peer', 'add', await listenAddress(s)]);
    state1 = await pollUntil(async () => {
      const st = await waitServerHead(1);
      return st.records.size >= 3 ? st : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'S to hold the first state' });

    await writeFile(join(dirA, 'f.txt'), 'the second version of f');
    await rm(join(dirA, 'd.txt'));
    await writeFile(join(dirA, 'e.txt'), '');
    await a.cliOk(['folder', 'rescan', dirA]);
    const first = newestHead(state1);
    state2 = await pollUntil(async () => {
      const st = await waitServerHead(first + 1);
      // The head lists the new f and the tombstone: S holds exactly those records.
      const f = st.records.get(loc('f.txt'));
      return f && f.length === 1 && toHex(f[0]!) !== toHex(recordOf(state1, 'f.txt')) && st.records.has(loc('e.txt')) ? st : undefined;
    }, { timeoutMs: SYNC_TIMEOUT_MS, description: 'S to hold the second state' });
    await dA.stop();
    await s.cleanup();
  });
  after(async () => {
    for (const h of homes) await h.cleanup();
    await a?.cleanup();
  });

  /** A fresh device B with the read-only key, knowing no peer; M (the tampered server) connects to it. */
  async function freshDevice(): Promise<{ b: TestHome; dirB: string; m: HostileClient }> {
    const b = await TestHome.create({ name: `b${homes.length}`, root: a.root });
    homes.push(b);
    const dirB = join(a.root, `folder-b${homes.length}`);
    await mkdir(dirB);
    await b.startDaemon({ env: { SEALSYNC_HEAD_GRACE_MS: String(GRACE_MS) } });
    await b.cliOk(['folder', 'add', dirB, '--key', formatKey(deriveReadOnly(keys))]);
    await b.waitForFolder(dirB, (f) => f.state === 'unshared', { description: 'B ready' });
    const m = await joinedAttacker(await listenAddress(b), eKeys, 'tampered-server', '127.0.5.1');
    return { b, dirB, m };
  }

  function sendHeads(m: HostileClient, st: ServerState): void {
    for (const h of st.heads) m.send({ type: 'head', folderId: keys.folderId, page: h.bytes });
  }

  async function sendRecords(m: HostileClient, records: Uint8Array[]): Promise<void> {
    await m.sendIndex({ folderId: keys.folderId, indexId: INDEX_ID, fromSeq: 0, toSeq: 1, records });
    await waitAck(m, 1);
  }

  /** B's status once it reports `kind` about A's device. */
  async function waitProblem(b: TestHome, dirB: string, kind: string): Promise<FolderStatus> {
    return b.waitForFolder(dirB, (f) => f.integrity?.some((p) => p.kind === kind && p.device === aDevice) ?? false,
      { timeoutMs: SYNC_TIMEOUT_MS, description: `B to report ${kind} from A` });
  }

  /** The root of the head a state holds (format 3: one root per writer, beside its pages). */
  function rootOf(st: ServerState): SignedHeadRoot {
    const roots = st.heads.map((h) => decodeHeadPage(h.bytes)).filter((p): p is SignedHeadRoot => p.kind === 'root');
    assert.equal(roots.length, 1, 'one writer, one root');
    return roots[0]!;
  }

  /** B holds no row for `path` in its index (the record was refused, not merely not yet applied). */
  function holdsNoRecord(b: TestHome, path: string): boolean {
    const db = new Database(b.paths.index, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM records WHERE locator = ?').get(Buffer.from(loc(path), 'hex')) as { n: number }).n === 0;
    } finally {
      db.close();
    }
  }

  test('the two states differ as the attacks need: f rewritten, d deleted, e added, two heads of A', () => {
    const root1 = rootOf(state1);
    const root2 = rootOf(state2);
    assert.ok(root2.number > root1.number, 'the second head has a higher number');
    assert.equal(root2.writer, root1.writer);
    assert.notEqual(toHex(recordOf(state1, 'f.txt')), toHex(recordOf(state2, 'f.txt')));
    assert.equal(decodeSealedRecord(recordOf(state1, 'd.txt')).blockIds.length, 0);
    assert.equal(toHex(recordOf(state1, 'g.txt')), toHex(recordOf(state2, 'g.txt')), 'g is the same record in both');
    assert.equal(state1.records.has(loc('e.txt')), false);
  });

  test('replay: an old version of f is refused, with a clear status, and withholding is reported', async () => {
    const { b, dirB, m } = await freshDevice();
    try {
      sendHeads(m, state2);
      await sendRecords(m, [recordOf(state1, 'f.txt'), recordOf(state2, 'g.txt')]);
      const f = await waitProblem(b, dirB, 'rollback');
      const rollback = f.integrity!.find((p) => p.kind === 'rollback')!;
      assert.equal(rollback.count, 1, 'one record refused');
      assert.match(rollback.message, /older than head #\d+ of /);
      await pollUntil(async () => (existsSync(join(dirB, 'g.txt')) ? true : undefined), { timeoutMs: SYNC_TIMEOUT_MS, description: 'g (current at the head) applied' });
      assert.equal(existsSync(join(dirB, 'f.txt')), false, 'the replayed old version of f is never written');
      assert.ok(holdsNoRecord(b, 'f.txt'), 'nor kept in the index');
      // Not up to date, and says why, once nothing is being applied any more.
      const w = await b.waitForFolder(dirB, (x) => x.state === 'waiting' && (x.integrity?.some((p) => p.kind === 'withholding') ?? false),
        { timeoutMs: SYNC_TIMEOUT_MS, description: 'B waiting, reporting withholding' });
      const withholding = w.integrity!.find((p) => p.kind === 'withholding')!;
      assert.match(withholding.message, new RegExp(`^the server may be withholding updates from ${aDevice} since \\d{4}-\\d\\d-\\d\\dT`));
      assert.ok(withholding.count >= 3, 'f, d and e of the head are missing');
      assert.equal(withholding.since, rootOf(state2).timeMs);
      assert.equal(w.notice, w.integrity![0]!.message, 'the folder says so in its notice');
      const cli = await b.cli(['status']);
      assert.equal(cli.code, 3, 'status exits "not up to date"');
      assert.match(cli.stdout, /waiting: (the server may be withholding updates from|refused 1 record\(s\) older than head)/, 'the CLI shows it');
    } finally {
      m.destroy();
    }
  });

  test('resurrection: the deleted d comes back as it was; refused', async () => {
    const { b, dirB, m } = await freshDevice();
    try {
      sendHeads(m, state2);
      await sendRecords(m, [recordOf(state1, 'd.txt'), recordOf(state2, 'g.txt')]);
      const f = await waitProblem(b, dirB, 'rollback');
      assert.equal(f.integrity!.find((p) => p.kind === 'rollback')!.count, 1);
      await pollUntil(async () => (existsSync(join(dirB, 'g.txt')) ? true : undefined), { timeoutMs: SYNC_TIMEOUT_MS, description: 'g applied' });
      assert.equal(existsSync(join(dirB, 'd.txt')), false, 'the deleted file is not resurrected');
      assert.ok(holdsNoRecord(b, 'd.txt'));
    } finally {
      m.destroy();
    }
  });

  test('mixed heads: both heads and records of both states; only what the newest head says is current is kept', async () => {
    const { b, dirB, m } = await freshDevice();
    try {
      // The newest head first, then the older one (stale: ignored), then records from both states.
      sendHeads(m, state2);
      sendHeads(m, state1);
      await sendRecords(m, [recordOf(state1, 'f.txt'), recordOf(state1, 'd.txt'), recordOf(state2, 'e.txt'), recordOf(state1, 'g.txt')]);
      const f = await waitProblem(b, dirB, 'rollback');
      assert.equal(f.integrity!.find((p) => p.kind === 'rollback')!.count, 2, 'f and d of the first state refused');
      await pollUntil(async () => (existsSync(join(dirB, 'e.txt')) && existsSync(join(dirB, 'g.txt')) ? true : undefined),
        { timeoutMs: SYNC_TIMEOUT_MS, description: 'e and g (current at the newest head) applied' });
      assert.equal(existsSync(join(dirB, 'f.txt')), false);
      assert.equal(existsSync(join(dirB, 'd.txt')), false);
      // The same mix with the older head only: a fresh device that never saw a newer head cannot tell (docs/crypto.md).
    } finally {
      m.destroy();
    }
  });
});
