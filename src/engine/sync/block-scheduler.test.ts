import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digest, keysFromSecret, newFolderSecret, openBlock, openPlainBlock, sealBlock, sealedBlockSize } from '../../crypto/index.js';
import { isSealsyncError } from '../../errors.js';
import type { BlockRef } from '../../model/types.js';
import { BlockAvailability, BlockScheduler, DiskBlockSource, type BlockPeer } from './block-scheduler.js';

const keys = keysFromSecret(newFolderSecret());
const contentKey = keys.contentKey!;
const open = (sealed: Uint8Array, ref: BlockRef) => openBlock(contentKey, sealed, ref);

function makeBlocks(n: number, size = 4096) {
  const store = new Map<string, Uint8Array>();
  const refs: BlockRef[] = [];
  const plains: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const plain = randomBytes(size);
    const { id, hash, sealed } = sealBlock(contentKey, plain);
    store.set(Buffer.from(id).toString('hex'), sealed);
    refs.push({ id, hash, size });
    plains.push(plain);
  }
  return { store, refs, plains };
}

interface FakePeer extends BlockPeer {
  requests: number;
  maxConcurrent: number;
  penalties: string[];
}

function fakePeer(id: string, store: Map<string, Uint8Array>, behaviour: 'good' | 'corrupt' | 'missing' | 'hang' = 'good', delayMs = 1): FakePeer {
  let current = 0;
  const peer: FakePeer = {
    id,
    requests: 0,
    maxConcurrent: 0,
    penalties: [],
    penalize(reason) {
      peer.penalties.push(reason);
    },
    async requestBlock(ref, { signal }) {
      const blockId = ref.id!;
      peer.requests++;
      current++;
      peer.maxConcurrent = Math.max(peer.maxConcurrent, current);
      try {
        if (behaviour === 'hang') {
          await new Promise((_r, rej) => signal?.addEventListener('abort', () => rej(signal.reason), { once: true }));
        }
        await new Promise((r) => setTimeout(r, delayMs));
        if (behaviour === 'missing') return null;
        const sealed = store.get(Buffer.from(blockId).toString('hex')) ?? null;
        if (sealed && behaviour === 'corrupt') {
          const bad = Uint8Array.from(sealed);
          bad[bad.length - 1]! ^= 1;
          return bad;
        }
        return sealed;
      } finally {
        current--;
      }
    },
  };
  return peer;
}

test('two serving peers share the load, each within its pipelining window', async () => {
  const { store, refs, plains } = makeBlocks(64);
  const s = new BlockScheduler({ openBlock: open, maxInFlightPerPeer: 4 });
  const a = fakePeer('A', store);
  const c = fakePeer('C', store);
  s.addPeer(a);
  s.addPeer(c);
  const got = await Promise.all(refs.map((r) => s.fetch(r)));
  got.forEach((g, i) => assert.deepEqual(Buffer.from(g), Buffer.from(plains[i]!)));
  assert.ok(a.requests >= 16 && c.requests >= 16, `A ${a.requests}, C ${c.requests}`);
  assert.equal(a.requests + c.requests, 64);
  assert.ok(a.maxConcurrent <= 4 && c.maxConcurrent <= 4);
  assert.equal(s.stats().peers.A!.inFlight, 0);
  s.stop();
});

test('a corrupt block is refused, penalised, and fetched from the other peer', async () => {
  const { store, refs, plains } = makeBlocks(8);
  const s = new BlockScheduler({ openBlock: open });
  const bad = fakePeer('BAD', store, 'corrupt');
  const good = fakePeer('GOOD', store, 'good', 5);
  s.addPeer(bad);
  s.addPeer(good);
  const got = await Promise.all(refs.map((r) => s.fetch(r)));
  got.forEach((g, i) => assert.deepEqual(Buffer.from(g), Buffer.from(plains[i]!)));
  assert.ok(bad.penalties.length > 0, 'sender penalised');
  assert.equal(bad.penalties.length, s.stats().peers.BAD!.penalties);
  assert.equal(good.penalties.length, 0);
  s.stop();
});

test('missing blocks and timeouts move to another peer without penalty', async () => {
  const { store, refs } = makeBlocks(4);
  const s = new BlockScheduler({ openBlock: open, requestTimeoutMs: 50 });
  const missing = fakePeer('M', store, 'missing');
  const hang = fakePeer('H', store, 'hang');
  s.addPeer(missing);
  s.addPeer(hang);
  s.addPeer(fakePeer('G', store, 'good', 20));
  const started = Date.now();
  await Promise.all(refs.map((r) => s.fetch(r)));
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual([missing.penalties, hang.penalties], [[], []]);
  s.stop();
});

test('a block nobody has fails with ERR_NOT_FOUND after every candidate was tried', async () => {
  const { store, refs } = makeBlocks(1);
  const s = new BlockScheduler({ openBlock: open });
  const m1 = fakePeer('M1', store, 'missing');
  const m2 = fakePeer('M2', store, 'missing');
  s.addPeer(m1);
  s.addPeer(m2);
  await assert.rejects(s.fetch(refs[0]!), (e) => isSealsyncError(e, 'ERR_NOT_FOUND'));
  assert.deepEqual([m1.requests, m2.requests], [1, 1]);
  const none = new BlockScheduler({ openBlock: open });
  await assert.rejects(none.fetch(refs[0]!), (e) => isSealsyncError(e, 'ERR_NOT_FOUND'));
  s.stop();
  none.stop();
});

test('only peers that announced the block are asked', async () => {
  const { store, refs } = makeBlocks(6);
  const avail = new BlockAvailability();
  avail.announce('B', refs.map((r) => r.id!));
  const s = new BlockScheduler({ openBlock: open, holders: (ref) => avail.holders(ref.id!) });
  const a = fakePeer('A', store);
  const b = fakePeer('B', store);
  s.addPeer(a);
  s.addPeer(b);
  await Promise.all(refs.map((r) => s.fetch(r)));
  assert.deepEqual([a.requests, b.requests], [0, 6]);
  // past its bound a peer counts as "may have anything"
  const small = new BlockAvailability(2);
  small.announce('X', refs.map((r) => r.id!));
  assert.ok(small.holders(randomBytes(32)).has('X'));
  s.stop();
});

test('local blocks are used first and cost no request', async () => {
  const { store, refs, plains } = makeBlocks(3);
  const local = { readLocal: async (r: BlockRef) => (r === refs[1] ? plains[1]! : null) };
  const s = new BlockScheduler({ openBlock: open, local });
  const a = fakePeer('A', store);
  s.addPeer(a);
  await Promise.all(refs.map((r) => s.fetch(r)));
  assert.equal(a.requests, 2);
  assert.equal(s.stats().localBlocks, 1);
  s.stop();
});

test('abort and stop reject waiting fetches; a removed peer hands its work to another', async () => {
  const { store, refs } = makeBlocks(3);
  const s = new BlockScheduler({ openBlock: open, requestTimeoutMs: 10_000 });
  const hang = fakePeer('H', store, 'hang');
  s.addPeer(hang);
  const ac = new AbortController();
  const p1 = s.fetch(refs[0]!, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p1, (e) => isSealsyncError(e, 'ERR_ABORTED'));
  const p2 = s.fetch(refs[1]!);
  await new Promise((r) => setTimeout(r, 5));
  s.addPeer(fakePeer('G', store));
  s.removePeer('H');
  await p2;
  const p3 = s.fetch(refs[2]!);
  s.addPeer(fakePeer('H2', store, 'hang'));
  s.removePeer('G');
  const p3r = assert.rejects(p3, (e) => isSealsyncError(e, 'ERR_ABORTED'));
  s.stop();
  await p3r;
  await assert.rejects(s.fetch(refs[0]!), (e) => isSealsyncError(e, 'ERR_ABORTED'));
});

test('DiskBlockSource re-hashes what it reads and never follows a symlink', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sealsync-sched-'));
  try {
    const data = randomBytes(10_000);
    await writeFile(join(root, 'f.bin'), data);
    await symlink(join(root, 'f.bin'), join(root, 'link'));
    const part = data.subarray(1000, 3000);
    const ref: BlockRef = { id: new Uint8Array(32), hash: digest(part), size: 2000 };
    const at = (path: string, offset: number) => () => [{ path, offset, size: 2000 }];
    assert.deepEqual(Buffer.from((await new DiskBlockSource(root, at('f.bin', 1000), (d) => digest(d)).readLocal(ref))!), part);
    assert.equal(await new DiskBlockSource(root, at('f.bin', 1001), (d) => digest(d)).readLocal(ref), null, 'stale location');
    assert.equal(await new DiskBlockSource(root, at('link', 1000), (d) => digest(d)).readLocal(ref), null, 'symlink');
    assert.equal(await new DiskBlockSource(root, at('../f.bin', 1000), (d) => digest(d)).readLocal(ref), null, 'unsafe path');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a block whose id is withheld is asked of readers only, by plaintext hash', async () => {
  const { refs, plains } = makeBlocks(3);
  const withheld = refs.map((r) => ({ ...r, id: null }));
  const asked: string[] = [];
  const sealedPeer: BlockPeer = {
    id: 'E',
    penalize: () => undefined,
    async requestBlock(ref) {
      asked.push(`E:${ref.id === null ? 'null' : 'id'}`);
      return null;
    },
  };
  const reader: BlockPeer = {
    id: 'R',
    plaintext: true,
    penalize: () => undefined,
    async requestBlock(ref) {
      asked.push('R');
      const i = withheld.findIndex((r) => Buffer.compare(Buffer.from(r.hash), Buffer.from(ref.hash)) === 0);
      const padded = new Uint8Array(sealedBlockSize(ref.size));
      padded.set(plains[i]!);
      return padded;
    },
  };
  const s = new BlockScheduler({ openBlock: (data, ref, form) => (form === 'plain' ? openPlainBlock(data, ref) : openBlock(contentKey, data, ref)) });
  s.addPeer(sealedPeer);
  s.addPeer(reader);
  const got = await Promise.all(withheld.map((r) => s.fetch(r)));
  got.forEach((g, i) => assert.deepEqual(Buffer.from(g), plains[i]));
  assert.deepEqual(asked, ['R', 'R', 'R'], 'the encrypted peer was never asked');
  // With no reader connected, such a block is not available at all.
  s.removePeer('R');
  await assert.rejects(s.fetch(withheld[0]!), (e) => isSealsyncError(e, 'ERR_NOT_FOUND'));
  assert.deepEqual(asked, ['R', 'R', 'R']);
  // A sealed block offered for a ref without an id is refused.
  assert.throws(() => openBlock(contentKey, new Uint8Array(64), withheld[0]!), (e) => isSealsyncError(e, 'ERR_BLOCK_ID'));
  s.stop();
});
