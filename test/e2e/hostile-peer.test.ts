// A hostile peer with a valid device certificate attacks a listening
// ConnectionManager (in process) and then a real daemon, at the frame and
// message level. Every case asserts that
// the server refused or closed the connection, and that an honest peer can
// still connect, join and fetch a block afterwards.
import { test, before, after, describe } from 'node:test';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { keysFromSecret, newFolderSecret, sealRecord, encodeSealedRecord, parseKey, type FolderKeys } from '../../src/crypto/index.js';
import { TestHome } from './helpers/harness.js';
import { ConnectionManager } from '../../src/net/connection-manager.js';
import { MAX_IDLE_INCOMING_SESSIONS, MAX_PEER_UNANSWERED_REQUESTS, MAX_UNJOINED_CONNECTIONS_PER_ADDRESS } from '../../src/net/limits.js';
import { deflateRawSync } from 'node:zlib';
import { FrameType, MAX_INDEX_MESSAGE_BYTES, type Message } from '../../src/net/messages.js';
import { ByteWriter } from '../../src/net/byte-codec.js';
import { MAX_FRAME_BYTES } from '../../src/net/frame-codec.js';
import { HostileClient } from '../../src/net/testing/hostile-client.js';
import { MemoryDirectory, testIdentity, waitUntil, randomFolder } from '../../src/net/testing/fixtures.js';
import type { PeerSession, ReceivedIndex } from '../../src/net/session.js';

const MAX_MISBEHAVIOUR = 5;
const keys = keysFromSecret(newFolderSecret());
const folder = { folderId: keys.folderId, accessSecret: keys.accessSecret };
const BLOCK = new Uint8Array(randomBytes(4096));
const received: ReceivedIndex[] = [];
let server: ConnectionManager;
let address: string;

before(async () => {
  server = new ConnectionManager({
    identity: await testIdentity('server'),
    localName: 'server',
    directory: new MemoryDirectory([folder]),
    listen: '127.0.0.1:0',
    session: { limits: { maxMisbehaviour: MAX_MISBEHAVIOUR, handshakeTimeoutMs: 500 } },
  });
  server.on('session', (s: PeerSession) => {
    // Block ids starting 0xee are slow to serve, so a flood of them piles up.
    s.onBlockRequest(async (_folderId, blockId) => {
      if (blockId[0] === 0xee) await new Promise((r) => setTimeout(r, 300));
      return BLOCK;
    });
    s.on('index', (m: ReceivedIndex) => received.push(m));
  });
  await server.start();
  address = server.listenAddresses()[0] as string;
});

after(async () => {
  await server.stop();
});

/** An honest peer connects, joins the folder and fetches a block. */
async function assertServerHealthy(): Promise<void> {
  const good = new ConnectionManager({
    identity: await testIdentity('honest'),
    localName: 'honest',
    directory: new MemoryDirectory([folder]),
    addresses: [address],
    backoffMinMs: 20,
    backoffMaxMs: 100,
  });
  await good.start();
  try {
    await waitUntil(() => (good.sessions()[0]?.joinedFolders().length ?? 0) === 1, 5000, 'honest peer to join');
    const data = await good.sessions()[0]?.requestBlock(folder.folderId, new Uint8Array(32), { timeoutMs: 3000 });
    assert.ok(data && Buffer.compare(data, BLOCK) === 0, 'honest peer got its block');
  } finally {
    await good.stop();
  }
}

async function hostile(): Promise<HostileClient> {
  return HostileClient.connect(address, await testIdentity('mallory'));
}

/** A hostile client past the Hello exchange. */
async function hostileAfterHello(): Promise<HostileClient> {
  const h = await hostile();
  h.hello();
  const m = await h.nextMessage();
  assert.equal(m?.type, 'hello');
  return h;
}

async function joinedHostile(): Promise<HostileClient> {
  const h = await hostileAfterHello();
  h.send({ type: 'join', folderId: folder.folderId, proof: h.proof(folder.folderId, folder.accessSecret) });
  const r = await h.nextMessage();
  assert.ok(r?.type === 'joinResult' && r.ok, 'the hostile peer (which holds the key) joined');
  return h;
}

test('garbage bytes instead of a Hello: closed', async () => {
  const h = await hostile();
  h.sendRaw(randomBytes(64));
  await h.waitClosed();
  await assertServerHealthy();
});

test('an oversized length prefix is refused before any payload is sent', async () => {
  const h = await hostileAfterHello();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  h.sendRaw(header); // and nothing more: the server must not wait for 16 MiB
  const reason = await h.waitClosed();
  assert.equal(reason, 'protocol');
  await assertServerHealthy();
});

test('a truncated frame and then end of stream: closed, no session left behind', async () => {
  const h = await hostile();
  const header = Buffer.alloc(5);
  header.writeUInt32BE(1000);
  header[4] = FrameType.hello;
  h.sendRaw(Buffer.concat([header, randomBytes(100)]));
  h.socket.end();
  await h.waitClosed();
  await waitUntil(() => server.sessions().length === 0, 3000, 'no sessions');
  await assertServerHealthy();
});

test('silence after TLS (slow loris): closed at the handshake timeout', async () => {
  const h = await hostile();
  const t0 = Date.now();
  await h.waitClosed(3000);
  assert.ok(Date.now() - t0 < 2500, `closed after ${Date.now() - t0} ms`);
  await assertServerHealthy();
});

test('an unknown message type: closed with Close(protocol)', async () => {
  const h = await hostileAfterHello();
  h.sendFrame(200, Buffer.alloc(3));
  assert.equal(await h.waitClosed(), 'protocol');
  await assertServerHealthy();
});

test('a malformed known message (trailing byte) and a second Hello: closed', async () => {
  const h = await hostileAfterHello();
  h.sendFrame(FrameType.ping, Buffer.of(1));
  assert.equal(await h.waitClosed(), 'protocol');
  const h2 = await hostileAfterHello();
  h2.hello();
  assert.equal(await h2.waitClosed(), 'protocol');
  await assertServerHealthy();
});

test('a Hello with another protocol version: Close(versionMismatch)', async () => {
  const h = await hostile();
  h.send({ type: 'hello', protocolVersion: 999, deviceName: 'future', clientVersion: '9' });
  assert.equal(await h.waitClosed(), 'versionMismatch');
  await assertServerHealthy();
});

test('a zip bomb in an index update: closed without inflating past the limit', async () => {
  const h = await joinedHostile();
  const bomb = deflateRawSync(Buffer.alloc(MAX_INDEX_MESSAGE_BYTES * 4));
  const header = new ByteWriter().rest(folder.folderId).rest(Buffer.alloc(8)).u64(0).u64(1).u8(1).finish();
  const rssBefore = process.memoryUsage().rss;
  h.sendFrame(FrameType.indexUpdate, Buffer.concat([header, bomb]));
  assert.equal(await h.waitClosed(), 'protocol');
  const grew = process.memoryUsage().rss - rssBefore;
  assert.ok(grew < MAX_INDEX_MESSAGE_BYTES * 3, `rss grew by ${grew} bytes`);
  await assertServerHealthy();
});

test('a Join with a wrong proof gets exactly the answer an unknown folder gets', async () => {
  const h = await hostileAfterHello();
  const unknown = randomFolder();
  const answers: { bytes: Buffer; ms: number }[] = [];
  for (const [folderId, proof] of [
    [folder.folderId, new Uint8Array(randomBytes(32))],
    [unknown.folderId, new Uint8Array(randomBytes(32))],
    [folder.folderId, h.proof(folder.folderId, new Uint8Array(randomBytes(32)))],
    [unknown.folderId, h.proof(unknown.folderId, unknown.accessSecret)],
  ] as const) {
    const t0 = process.hrtime.bigint();
    h.send({ type: 'join', folderId, proof });
    const f = await h.nextFrame();
    assert.ok(f, 'answered');
    answers.push({ bytes: Buffer.concat([Buffer.of(f.type), f.payload]), ms: Number(process.hrtime.bigint() - t0) / 1e6 });
  }
  // Same type, same length, ok = 0, and identical once the echoed folder id is blanked.
  const blank = (b: Buffer) => Buffer.concat([b.subarray(0, 1), b.subarray(33)]);
  for (const a of answers) {
    assert.equal(a.bytes[0], FrameType.joinResult);
    assert.equal(a.bytes.length, 1 + 32 + 1);
    assert.ok(blank(a.bytes).equals(blank(answers[0]!.bytes)));
  }
  // Refusals cost no budget (a peer may simply not have our folders): the session stays open.
  h.send({ type: 'ping' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.closed, false);
  h.destroy();
  await assertServerHealthy();
});

test('block requests for a folder not joined: answered missing, then closed past the budget', async () => {
  const h = await hostileAfterHello();
  const first = { type: 'blockRequest', reqId: 1, folderId: folder.folderId, blockId: new Uint8Array(32), form: 'sealed' } as const;
  h.send(first);
  const m = await h.nextMessage();
  assert.ok(m?.type === 'blockResponse' && m.status === 'missing' && m.reqId === 1, 'missing, not the block');
  for (let i = 2; i < 20 && !h.closed; i++) h.send({ ...first, reqId: i });
  assert.equal(await h.waitClosed(), 'misbehaviour');
  await assertServerHealthy();
});

test('plaintext block requests from a peer that proved no read key: answered missing, never served, closed past the budget', async () => {
  const h = await joinedHostile();
  const ask = { type: 'blockRequest', reqId: 1, folderId: folder.folderId, blockId: new Uint8Array(32), form: 'plain' } as const;
  h.send(ask);
  const m = await h.nextMessage();
  assert.ok(m?.type === 'blockResponse' && m.status === 'missing' && m.data.byteLength === 0, 'missing, not the block');
  // The same block asked for sealed is served (the peer is joined): the refusal was the form.
  h.send({ ...ask, reqId: 2, form: 'sealed' });
  const sealed = await h.nextMessage();
  assert.ok(sealed?.type === 'blockResponse' && sealed.status === 'ok' && Buffer.compare(sealed.data, BLOCK) === 0);
  for (let i = 3; i < 20 && !h.closed; i++) h.send({ ...ask, reqId: i });
  assert.equal(await h.waitClosed(), 'misbehaviour');
  await assertServerHealthy();
});

test('a flood of block requests past the protocol limit: closed for misbehaviour', async () => {
  const h = await joinedHostile();
  const slow = new Uint8Array(32).fill(0xee);
  for (let i = 1; i <= MAX_PEER_UNANSWERED_REQUESTS + 20; i++) {
    h.send({ type: 'blockRequest', reqId: i, folderId: folder.folderId, blockId: slow, form: 'sealed' });
  }
  assert.equal(await h.waitClosed(), 'misbehaviour');
  await assertServerHealthy();
});

test('index updates with garbled records: dropped and counted, then closed past the budget', async () => {
  const h = await joinedHostile();
  const good = encodeSealedRecord(
    sealRecord(keys, { path: 'a.txt', kind: 'file', size: 0, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: '00000000000000aa', value: 1 }], deleted: false }),
  );
  const truncated = good.subarray(0, good.length - 1);
  const before = received.length;
  await h.sendIndex({ folderId: folder.folderId, indexId: '0000000000000001', fromSeq: 0, toSeq: 2, records: [good, truncated] });
  await waitUntil(() => received.length > before, 3000, 'index to arrive');
  const got = received[received.length - 1] as ReceivedIndex;
  assert.equal(got.records.length, 1, 'the valid record is delivered');
  assert.equal(got.dropped, 1, 'the truncated record is dropped and counted');
  assert.equal(h.closed, false, 'one bad record is within the budget');
  const junk = Array.from({ length: MAX_MISBEHAVIOUR + 1 }, () => new Uint8Array(randomBytes(100)));
  await h.sendIndex({ folderId: folder.folderId, indexId: '0000000000000001', fromSeq: 2, toSeq: 3, records: junk });
  assert.equal(await h.waitClosed(), 'misbehaviour');
  assert.equal(received.length, before + 1, 'the over-budget update was not delivered');
  await assertServerHealthy();
});

test('messages in the wrong role or unsolicited: JoinResult from a dialler is a protocol error', async () => {
  const h = await hostileAfterHello();
  const m: Message = { type: 'joinResult', folderId: folder.folderId, ok: false };
  h.send(m);
  assert.equal(await h.waitClosed(), 'protocol');
  const h2 = await joinedHostile();
  // A block response nobody asked for costs budget; enough of them close the session.
  for (let i = 0; i < 3; i++) h2.send({ type: 'blockResponse', reqId: 1000 + i, status: 'missing', data: new Uint8Array(0) });
  assert.equal(await h2.waitClosed(), 'misbehaviour');
  await assertServerHealthy();
});

test('many fresh identities holding idle sessions: the oldest idle ones are closed', async () => {
  const clients: HostileClient[] = [];
  // Spread over several source addresses: one address may hold only a few unjoined connections.
  const perAddress = MAX_UNJOINED_CONNECTIONS_PER_ADDRESS - 1;
  try {
    for (let i = 0; i < MAX_IDLE_INCOMING_SESSIONS + 3; i++) {
      const localAddress = `127.0.0.${10 + Math.floor(i / perAddress)}`;
      const h = await HostileClient.connect(address, await testIdentity(`sybil-${i}`), { localAddress });
      h.hello(`sybil-${i}`);
      assert.equal((await h.nextMessage())?.type, 'hello');
      clients.push(h);
      await waitUntil(() => server.sessions().length >= Math.min(i + 1, MAX_IDLE_INCOMING_SESSIONS), 3000, 'session registered');
    }
    await waitUntil(() => clients.slice(0, 3).every((c) => c.closed), 3000, 'the three oldest idle sessions to close');
    // The server unregisters a session once its own side of the socket has closed, a round trip
    // after the client saw the close: wait for that, bounded, rather than read it mid-flight.
    await waitUntil(() => server.sessions().length <= MAX_IDLE_INCOMING_SESSIONS, 3000, `at most ${MAX_IDLE_INCOMING_SESSIONS} sessions`);
    assert.ok(clients.slice(3).every((c) => !c.closed), 'the newer ones stay');
    await assertServerHealthy();
  } finally {
    for (const c of clients) c.destroy();
  }
});

describe('against a real daemon', () => {
  let h: TestHome;
  let daemonAddress: string;
  let daemonKeys: FolderKeys;

  before(async () => {
    h = await TestHome.create();
    const key = (await h.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
    daemonKeys = parseKey(key);
    const dir = join(h.root, 'shared');
    await mkdir(dir);
    await writeFile(join(dir, 'hello.txt'), 'hello from the daemon');
    await h.startDaemon();
    await h.cliOk(['folder', 'add', dir, '--key', key]);
    await h.waitForFolder(dir, (f) => f.state === 'unshared' && f.localFiles >= 1, { description: 'first scan' });
    daemonAddress = (await h.status()).device.listen[0] as string;
    assert.match(daemonAddress, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  });

  after(async () => {
    await h?.cleanup();
  });

  /** An honest in-process peer joins the daemon's folder and receives its index. */
  async function assertDaemonHealthy(): Promise<void> {
    const honest = new ConnectionManager({
      identity: await testIdentity('honest-vs-daemon'),
      localName: 'honest',
      directory: new MemoryDirectory([{ folderId: daemonKeys.folderId, accessSecret: daemonKeys.accessSecret }]),
      addresses: [daemonAddress],
      backoffMinMs: 50,
      backoffMaxMs: 200,
    });
    const gotIndex = new Promise<ReceivedIndex>((resolve) => honest.on('session', (s: PeerSession) => s.on('index', (m: ReceivedIndex) => m.records.length > 0 && resolve(m))));
    await honest.start();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no index from the daemon')), 15_000);
      });
      const index = await Promise.race([gotIndex, timeout]);
      assert.ok(index.records.length >= 1 && index.dropped === 0);
    } finally {
      clearTimeout(timer);
      await honest.stop();
    }
  }

  async function attacker(): Promise<HostileClient> {
    const c = await HostileClient.connect(daemonAddress, await testIdentity('mallory'));
    c.hello();
    assert.equal((await c.nextMessage())?.type, 'hello');
    return c;
  }

  test('garbage, an oversized prefix and an unknown type each close the connection', async () => {
    const g = await HostileClient.connect(daemonAddress, await testIdentity('mallory'));
    g.sendRaw(randomBytes(64));
    await g.waitClosed(5000);
    const o = await attacker();
    o.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.equal(await o.waitClosed(5000), 'protocol');
    const u = await attacker();
    u.sendFrame(77, Buffer.alloc(1));
    assert.equal(await u.waitClosed(5000), 'protocol');
    await assertDaemonHealthy();
  });

  test("a wrong proof for the daemon's folder is answered exactly like an unknown folder", async () => {
    const c = await attacker();
    c.send({ type: 'join', folderId: daemonKeys.folderId, proof: c.proof(daemonKeys.folderId, new Uint8Array(randomBytes(32))) });
    const wrong = await c.nextFrame(5000);
    const unknown = randomFolder();
    c.send({ type: 'join', folderId: unknown.folderId, proof: c.proof(unknown.folderId, unknown.accessSecret) });
    const none = await c.nextFrame(5000);
    assert.ok(wrong && none);
    assert.equal(wrong.type, none.type);
    assert.deepEqual([...wrong.payload.subarray(32)], [...none.payload.subarray(32)]);
    assert.deepEqual([...wrong.payload.subarray(32)], [0]);
    c.destroy();
    await assertDaemonHealthy();
  });

  test('block requests without a join and garbled records past the budget: closed for misbehaviour', async () => {
    const c = await attacker();
    for (let i = 1; i <= 20 && !c.closed; i++) c.send({ type: 'blockRequest', reqId: i, folderId: daemonKeys.folderId, blockId: new Uint8Array(32), form: 'sealed' });
    assert.equal(await c.waitClosed(5000), 'misbehaviour');
    const j = await attacker();
    j.send({ type: 'join', folderId: daemonKeys.folderId, proof: j.proof(daemonKeys.folderId, daemonKeys.accessSecret) });
    const r = await j.nextMessage(5000);
    assert.ok(r?.type === 'joinResult' && r.ok);
    const junk = Array.from({ length: 40 }, () => new Uint8Array(randomBytes(200)));
    await j.sendIndex({ folderId: daemonKeys.folderId, indexId: '0000000000000001', fromSeq: 0, toSeq: 40, records: junk });
    assert.equal(await j.waitClosed(5000), 'misbehaviour');
    await assertDaemonHealthy();
    const s = await h.status();
    assert.ok(s.folders.every((f) => f.state !== 'error'), 'folders unharmed');
  });
});
