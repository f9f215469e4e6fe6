import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { keysFromSecret, newFolderSecret, sealRecord, encodeSealedRecord, decodeSealedRecord, type FolderKeys } from '../crypto/index.js';
import { isSealsyncError, type SealsyncError } from '../errors.js';
import { sessionPair, type PairOptions } from './testing/session-pair.js';
import { MemoryDirectory, testIdentity, waitFor, waitUntil, randomFolder, type TestFolder } from './testing/fixtures.js';
import { PeerSession, type ReceivedIndex } from './session.js';
import { SyncListener, dial } from './transport.js';
import type { IndexAck } from './messages.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function folderOf(keys: FolderKeys) {
  return { folderId: keys.folderId, accessSecret: keys.accessSecret };
}

function sealedRecords(keys: FolderKeys, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    encodeSealedRecord(
      sealRecord(keys, {
        path: `dir/file-${i}.txt`,
        kind: 'file',
        size: 0,
        mtimeMs: 1_700_000_000_000,
        mode: 0o644,
        blocks: [],
        version: [{ id: '0123456789abcdef', value: i + 1 }],
        deleted: false,
      }),
    ),
  );
}

function joinedPromise(s: PeerSession, count: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('join timeout')), 5000);
    s.on('joined', (id) => {
      got.push(id);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

test('handshake exchanges names and device ids; close is seen on both sides', async (t) => {
  const pair = await sessionPair();
  t.after(() => pair.close());
  assert.equal(pair.client.remoteName, 'server');
  assert.equal(pair.server.remoteName, 'client');
  assert.equal(pair.client.remoteDeviceId, (await testIdentity('server')).deviceId);
  assert.equal(pair.server.remoteDeviceId, (await testIdentity('client')).deviceId);
  assert.equal(pair.client.direction, 'outgoing');
  assert.equal(pair.server.direction, 'incoming');
  const serverClosed = waitFor<[SealsyncError | undefined]>(pair.server, 'closed');
  await pair.client.close();
  const [err] = await serverClosed;
  assert.equal(err, undefined, 'a normal close carries no error');
  assert.equal(pair.server.remoteCloseReason, 'normal');
  await pair.close();
});

test('folders both sides share are joined both ways; the others are not', async (t) => {
  const shared = folderOf(keysFromSecret(newFolderSecret()));
  const onlyClient = randomFolder();
  const onlyServer = randomFolder();
  const sameIdWrongSecret = randomFolder();
  let clientJoins!: Promise<Uint8Array[]>;
  let serverJoins!: Promise<Uint8Array[]>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([shared, onlyClient, { folderId: sameIdWrongSecret.folderId, accessSecret: new Uint8Array(randomBytes(32)) }]),
    serverDir: new MemoryDirectory([onlyServer, shared, sameIdWrongSecret]),
    beforeStart: (c, s) => {
      clientJoins = joinedPromise(c, 1);
      serverJoins = joinedPromise(s, 1);
    },
  });
  t.after(() => pair.close());
  assert.deepEqual((await clientJoins).map(hex), [hex(shared.folderId)]);
  assert.deepEqual((await serverJoins).map(hex), [hex(shared.folderId)]);
  // Give the refusals time to arrive, then check nothing else got joined.
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(pair.client.joinedFolders().map(hex), [hex(shared.folderId)]);
  assert.deepEqual(pair.server.joinedFolders().map(hex), [hex(shared.folderId)]);
  assert.equal(pair.client.misbehaviour().score, 0);
  assert.equal(pair.server.misbehaviour().score, 0);
  await pair.close();
});

test('a folder added later is joined after refreshFolders, on either side', async (t) => {
  const a = randomFolder();
  const b = randomFolder();
  const pair = await sessionPair({ clientDir: new MemoryDirectory([a]), serverDir: new MemoryDirectory([]) });
  t.after(() => pair.close());
  await new Promise((r) => setTimeout(r, 100)); // the Join for a is refused
  assert.equal(pair.client.joinedFolders().length, 0);
  // The acceptor adds a: it re-checks the Join it refused.
  pair.serverDir.folders.push(a);
  const j1 = waitFor(pair.client, 'joined');
  pair.server.refreshFolders();
  await j1;
  // The dialler adds b (the acceptor already has it).
  pair.serverDir.folders.push(b);
  pair.clientDir.folders.push(b);
  const j2 = waitFor(pair.client, 'joined');
  pair.client.refreshFolders();
  await j2;
  assert.equal(pair.client.joinedFolders().length, 2);
  // Removing a folder leaves it locally.
  pair.clientDir.folders = [b];
  const left = waitFor<[Uint8Array]>(pair.client, 'left');
  pair.client.refreshFolders();
  assert.equal(hex((await left)[0]), hex(a.folderId));
  await assert.rejects(pair.client.requestBlock(a.folderId, new Uint8Array(32)), (e) => isSealsyncError(e, 'ERR_FOLDER_UNKNOWN'));
  await pair.close();
});

test('index updates and acks travel; garbled records are dropped and counted', async (t) => {
  const keys = keysFromSecret(newFolderSecret());
  const f = folderOf(keys);
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const records = sealedRecords(keys, 300);
  const garbled = new Uint8Array(records[0] as Uint8Array);
  garbled[0] = 99; // unknown format version
  const got = waitFor<[ReceivedIndex]>(pair.server, 'index');
  await pair.client.sendIndex({ folderId: f.folderId, indexId: 'a1b2c3d4e5f60718', fromSeq: 0, toSeq: 301, records: [...records, garbled] });
  const [msg] = await got;
  assert.equal(msg.records.length, 300);
  assert.equal(msg.dropped, 1);
  assert.equal(msg.indexId, 'a1b2c3d4e5f60718');
  assert.equal(msg.toSeq, 301);
  assert.equal(hex(msg.records[7] as Uint8Array), hex(records[7] as Uint8Array));
  assert.equal(hex(decodeSealedRecord(msg.records[7] as Uint8Array).locator).length, 64);
  assert.equal(pair.server.misbehaviour().score, 1);
  const ack = waitFor<[IndexAck]>(pair.client, 'indexAck');
  pair.server.sendIndexAck({ folderId: f.folderId, indexId: 'a1b2c3d4e5f60718', seq: 301 });
  assert.equal((await ack)[0].seq, 301);
  // Sending for a folder that is not joined is refused locally.
  await assert.rejects(
    pair.client.sendIndex({ folderId: randomFolder().folderId, indexId: 'a1b2c3d4e5f60718', fromSeq: 0, toSeq: 0, records: [] }),
    (e) => isSealsyncError(e, 'ERR_FOLDER_UNKNOWN'),
  );
  await pair.close();
});

test('block requests are pipelined both ways; missing is null; close rejects what is pending', async (t) => {
  const f = randomFolder();
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const store = new Map<string, Uint8Array>();
  const ids: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const data = new Uint8Array(randomBytes(1 + (i * 997) % 50_000));
    const id = new Uint8Array(randomBytes(32));
    store.set(hex(id), data);
    ids.push(id);
  }
  let concurrent = 0;
  let maxConcurrent = 0;
  pair.server.onBlockRequest(async (folderId, blockId) => {
    assert.equal(hex(folderId), hex(f.folderId));
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    await new Promise((r) => setTimeout(r, 2));
    concurrent--;
    return store.get(hex(blockId)) ?? null;
  });
  const t0 = Date.now();
  const answers = await Promise.all(ids.map((id) => pair.client.requestBlock(f.folderId, id)));
  const ms = Date.now() - t0;
  answers.forEach((a, i) => assert.equal(hex(a as Uint8Array), hex(store.get(hex(ids[i] as Uint8Array)) as Uint8Array)));
  assert.ok(maxConcurrent > 1, `requests were served concurrently (max ${maxConcurrent})`);
  assert.ok(ms < 3000, `200 pipelined requests took ${ms} ms`);
  assert.equal(await pair.client.requestBlock(f.folderId, new Uint8Array(32)), null);
  // The acceptor can request from the dialler too.
  pair.client.onBlockRequest(async () => Uint8Array.of(1, 2, 3));
  assert.deepEqual([...((await pair.server.requestBlock(f.folderId, new Uint8Array(32))) ?? [])], [1, 2, 3]);
  // Timeout, abort, and close while pending.
  pair.server.onBlockRequest(() => new Promise(() => undefined));
  await assert.rejects(pair.client.requestBlock(f.folderId, ids[0] as Uint8Array, { timeoutMs: 50 }), (e) => isSealsyncError(e, 'ERR_TIMEOUT'));
  const ac = new AbortController();
  const aborted = pair.client.requestBlock(f.folderId, ids[0] as Uint8Array, { signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted, (e) => isSealsyncError(e, 'ERR_ABORTED'));
  const pending = pair.client.requestBlock(f.folderId, ids[0] as Uint8Array);
  await new Promise((r) => setTimeout(r, 20));
  const pendingRejected = assert.rejects(pending, (e) => isSealsyncError(e, 'ERR_CONNECTION_CLOSED'));
  await pair.client.close();
  await pendingRejected;
  const s = pair.client.stats();
  assert.ok(s.inBytes > 200 * 25_000 * 0.8, `inBytes ${s.inBytes}`);
  assert.ok(s.inRate > 0);
  await pair.close();
});

test('large blocks respect backpressure and arrive intact', async (t) => {
  const f = randomFolder();
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const big = new Uint8Array(randomBytes(16 * 1024 * 1024));
  pair.server.onBlockRequest(async () => big);
  const t0 = Date.now();
  const got = await Promise.all([1, 2, 3, 4].map(() => pair.client.requestBlock(f.folderId, new Uint8Array(32))));
  const ms = Date.now() - t0;
  for (const g of got) assert.ok(g && Buffer.compare(g, big) === 0);
  assert.ok(pair.server.stats().outBytes >= 4 * big.length);
  console.log(`# 4 x 16 MiB blocks over loopback TLS: ${ms} ms (${((64 / ms) * 1000).toFixed(0)} MiB/s)`);
  await pair.close();
});

/** A joined pair whose server answers every block request with the same 512 KiB block; `limits` go on either side. */
async function rateLimitedPair(t: TestContext, limits: Pick<PairOptions, 'client' | 'server'>) {
  const f = randomFolder();
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    ...limits,
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const block = new Uint8Array(randomBytes(512 * 1024));
  pair.server.onBlockRequest(async () => block);
  return { f, pair, block };
}

test('outbound rate limit slows a transfer down', async (t) => {
  const { f, pair } = await rateLimitedPair(t, { server: { rateLimit: { outBytesPerSec: 1024 * 1024 } } });
  const t0 = Date.now();
  // The first 1 MiB is the burst, the next 512 KiB runs into debt, and the
  // last 512 KiB must wait that debt off: about half a second.
  for (let i = 0; i < 4; i++) await pair.client.requestBlock(f.folderId, new Uint8Array(32));
  const ms = Date.now() - t0;
  assert.ok(ms >= 350 && ms < 3000, `rate-limited transfer took ${ms} ms`);
  await pair.close();
});

test('inbound rate limit slows a transfer down too', async (t) => {
  const { f, pair, block } = await rateLimitedPair(t, { client: { rateLimit: { inBytesPerSec: 1024 * 1024 } } });
  const t0 = Date.now();
  // 2 MiB against a 1 MiB burst at 1 MiB/s: the reader pauses for about a second in total.
  const got = await Promise.all([1, 2, 3, 4].map(() => pair.client.requestBlock(f.folderId, new Uint8Array(32))));
  const ms = Date.now() - t0;
  for (const g of got) assert.ok(g && Buffer.compare(g, block) === 0);
  assert.ok(ms >= 600 && ms < 4000, `rate-limited receive took ${ms} ms`);
});

test('rate limits change on a live session: a limit set later slows it, lifting it frees a waiting write at once', async (t) => {
  const f = randomFolder();
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const block = new Uint8Array(randomBytes(512 * 1024));
  pair.server.onBlockRequest(async () => block);
  pair.server.setRateLimit({ outBytesPerSec: 1024 * 1024 });
  let t0 = Date.now();
  for (let i = 0; i < 4; i++) await pair.client.requestBlock(f.folderId, new Uint8Array(32));
  const limitedMs = Date.now() - t0;
  assert.ok(limitedMs >= 350, `limited after the change: ${limitedMs} ms`);
  // Now very slow: the next blocks would wait seconds; lifting the limit lets them through at once.
  pair.server.setRateLimit({ outBytesPerSec: 64 * 1024 });
  t0 = Date.now();
  const pending = Promise.all([1, 2].map(() => pair.client.requestBlock(f.folderId, new Uint8Array(32))));
  await new Promise((r) => setTimeout(r, 150));
  pair.server.setRateLimit({});
  const got = await pending;
  const freedMs = Date.now() - t0;
  for (const g of got) assert.ok(g && Buffer.compare(g, block) === 0);
  assert.ok(freedMs < 1500, `lifted limit: ${freedMs} ms (at 64 KiB/s it would take over 10 s)`);
  await pair.close();
});

test('keepalive pings hold an idle session open; no traffic at all closes it', async (t) => {
  const limits = { keepaliveMs: 40, idleTimeoutMs: 200 };
  const pair = await sessionPair({ client: { limits }, server: { limits } });
  t.after(() => pair.close());
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(pair.client.isOpen && pair.server.isOpen, 'pings kept both sides alive');
  assert.ok(pair.client.stats().inBytes > 5 * 5, 'pings were received');
  await pair.close();

  // The server pings fast but the client never pings: the client's own idle
  // timeout is long, the server's short, so the server must close on silence.
  const quiet = await sessionPair({ client: { limits: { keepaliveMs: 60_000, idleTimeoutMs: 60_000 } }, server: { limits: { keepaliveMs: 60_000, idleTimeoutMs: 150 } } });
  t.after(() => quiet.close());
  const [err] = await waitFor<[SealsyncError | undefined]>(quiet.server, 'closed', 3000);
  assert.ok(isSealsyncError(err, 'ERR_TIMEOUT'));
  await quiet.close();
});

test('misbehaviour past the budget closes the session with ERR_MISBEHAVIOUR', async (t) => {
  const pair = await sessionPair({ server: { limits: { maxMisbehaviour: 3 } } });
  t.after(() => pair.close());
  const closed = waitFor<[SealsyncError | undefined]>(pair.server, 'closed');
  const clientClosed = waitFor<[SealsyncError | undefined]>(pair.client, 'closed');
  for (let i = 0; i < 4; i++) pair.server.penalize('test offence');
  const [err] = await closed;
  assert.ok(isSealsyncError(err, 'ERR_MISBEHAVIOUR'));
  const [cerr] = await clientClosed;
  assert.ok(isSealsyncError(cerr, 'ERR_CONNECTION_CLOSED'));
  assert.equal(pair.client.remoteCloseReason, 'misbehaviour');
  await pair.close();
});

test('stop leaves nothing behind: no handles after close', async (t) => {
  const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
  const pair = await sessionPair();
  t.after(() => pair.close());
  await pair.close();
  await waitUntil(
    () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length <= before,
    2000,
    'handles to be released',
  );
});

test('index updates sent back to back arrive in order, compressed or not', async (t) => {
  const keys = keysFromSecret(newFolderSecret());
  const f = folderOf(keys);
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  const big = sealedRecords(keys, 400); // compressed (async) path
  const seqs: number[] = [];
  const done = new Promise<void>((resolve) =>
    pair.server.on('index', (m: ReceivedIndex) => {
      seqs.push(m.toSeq);
      if (seqs.length === 6) resolve();
    }),
  );
  const sends: Promise<void>[] = [];
  for (let i = 1; i <= 6; i++) {
    sends.push(pair.client.sendIndex({ folderId: f.folderId, indexId: '0000000000000001', fromSeq: i - 1, toSeq: i, records: i % 2 ? big : [] }));
  }
  await Promise.all(sends);
  await done;
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6]);
});

test('after this side leaves a folder, the peer still sending for it costs nothing', async (t) => {
  const f = randomFolder();
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([f]),
    serverDir: new MemoryDirectory([f]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  pair.server.onBlockRequest(async () => Uint8Array.of(9));
  pair.serverDir.folders = [];
  pair.server.refreshFolders();
  assert.equal(pair.server.joinedFolders().length, 0);
  // The client does not know yet: its index and block requests get "missing", free of charge.
  await pair.client.sendIndex({ folderId: f.folderId, indexId: '0000000000000001', fromSeq: 0, toSeq: 0, records: [] });
  assert.equal(await pair.client.requestBlock(f.folderId, new Uint8Array(32)), null);
  assert.equal(pair.server.misbehaviour().score, 0);
  // Re-adding the folder: the dialler's new Join is accepted again.
  pair.serverDir.folders = [f];
  pair.clientDir.folders = [];
  pair.client.refreshFolders();
  pair.clientDir.folders = [f];
  const rejoined = waitFor(pair.client, 'joined');
  pair.client.refreshFolders();
  await rejoined;
  assert.deepEqual([...((await pair.client.requestBlock(f.folderId, new Uint8Array(32))) ?? [])], [9]);
  assert.equal(pair.server.misbehaviour().score, 0);
  await assert.rejects(pair.client.requestBlock(f.folderId, new Uint8Array(5)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  assert.throws(() => pair.client.sendIndexAck({ folderId: f.folderId, indexId: 'nope', seq: 1 }), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
});

test('open(): a peer that never says Hello times out, and an abort ends the wait', async (t) => {
  const silent = new SyncListener({ listen: '127.0.0.1:0', identity: await testIdentity('server'), onConnection: () => undefined });
  await silent.start();
  t.after(() => silent.stop());
  const address = silent.addresses()[0] as string;
  const identity = await testIdentity('client');
  const t0 = Date.now();
  await assert.rejects(
    PeerSession.open(await dial(address, { identity }), { localName: 'c', directory: new MemoryDirectory(), limits: { handshakeTimeoutMs: 150 } }),
    (e) => isSealsyncError(e, 'ERR_TIMEOUT'),
  );
  assert.ok(Date.now() - t0 < 2000);
  const ac = new AbortController();
  const p = PeerSession.open(await dial(address, { identity }), { localName: 'c', directory: new MemoryDirectory() }, { signal: ac.signal });
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(p, (e) => isSealsyncError(e, 'ERR_ABORTED'));
});

/** A session pair that has joined one folder on both sides. */
async function joinedPair(t: TestContext, clientFolder: TestFolder, serverFolder: TestFolder) {
  let joined!: Promise<unknown>;
  const pair = await sessionPair({
    clientDir: new MemoryDirectory([clientFolder]),
    serverDir: new MemoryDirectory([serverFolder]),
    beforeStart: (c) => (joined = waitFor(c, 'joined')),
  });
  t.after(() => pair.close());
  await joined;
  await waitUntil(() => pair.server.isJoined(clientFolder.folderId), 5000, 'server joined');
  return pair;
}

test('read proofs: two readers may ask each other for plaintext; an encrypted peer may not, and neither side asks it', async (t) => {
  const w = keysFromSecret(newFolderSecret());
  const reader = { folderId: w.folderId, accessSecret: w.accessSecret, readProofKey: w.readProofKey as Uint8Array };
  const encrypted = { folderId: w.folderId, accessSecret: w.accessSecret };
  const forms: string[] = [];
  const serve = async (_folderId: Uint8Array, _blockId: Uint8Array, form: string) => {
    forms.push(form);
    return Uint8Array.of(form === 'plain' ? 1 : 2);
  };
  // Reader to reader: both see the other's proof.
  const both = await joinedPair(t, reader, reader);
  assert.equal(both.client.peerReads(w.folderId), true);
  assert.equal(both.server.peerReads(w.folderId), true);
  both.server.onBlockRequest(serve);
  both.client.onBlockRequest(serve);
  assert.deepEqual([...((await both.client.requestBlock(w.folderId, new Uint8Array(32), { form: 'plain' })) ?? [])], [1]);
  assert.deepEqual([...((await both.server.requestBlock(w.folderId, new Uint8Array(32), { form: 'plain' })) ?? [])], [1]);
  assert.deepEqual([...((await both.client.requestBlock(w.folderId, new Uint8Array(32))) ?? [])], [2]);
  await both.close();
  // Reader dialling an encrypted peer, and the reverse: nobody is a reader, plaintext is never asked for.
  for (const [clientFolder, serverFolder] of [[reader, encrypted], [encrypted, reader]] as const) {
    forms.length = 0;
    const pair = await joinedPair(t, clientFolder, serverFolder);
    assert.equal(pair.client.peerReads(w.folderId), false);
    assert.equal(pair.server.peerReads(w.folderId), false);
    pair.server.onBlockRequest(serve);
    await assert.rejects(pair.client.requestBlock(w.folderId, new Uint8Array(32), { form: 'plain' }), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
    assert.deepEqual([...((await pair.client.requestBlock(w.folderId, new Uint8Array(32))) ?? [])], [2]);
    assert.deepEqual(forms, ['sealed']);
    await pair.close();
  }
});

test('a read proof that does not verify closes the session and joins nothing', async (t) => {
  const w = keysFromSecret(newFolderSecret());
  const reader = { folderId: w.folderId, accessSecret: w.accessSecret, readProofKey: w.readProofKey as Uint8Array };
  // Same A (so the access proof verifies), another R: a peer that claims to read without the key.
  const liar = { ...reader, readProofKey: new Uint8Array(randomBytes(32)) };
  const pair = await sessionPair({ clientDir: new MemoryDirectory([liar]), serverDir: new MemoryDirectory([reader]) });
  t.after(() => pair.close());
  const closed = await Promise.race([waitFor(pair.server, 'closed'), new Promise((r) => setTimeout(() => r('still open'), 5000))]);
  assert.notEqual(closed, 'still open');
  assert.equal(pair.server.isJoined(w.folderId), false);
  await pair.close();
});
