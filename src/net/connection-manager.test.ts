import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionManager, type ConnectionManagerOptions } from './connection-manager.js';
import { MemoryDirectory, randomFolder, testIdentity, waitUntil } from './testing/fixtures.js';
import { isSealsyncError } from '../errors.js';
import type { PeerSession } from './session.js';

const FAST = { backoffMinMs: 30, backoffMaxMs: 200, dialTimeoutMs: 2000 };

/** A manager that is stopped when the test ends, whatever happens. */
async function manager(t: TestContext, name: string, extra: Partial<ConnectionManagerOptions> = {}): Promise<ConnectionManager> {
  const m = new ConnectionManager({
    identity: await testIdentity(name),
    localName: name,
    directory: new MemoryDirectory(),
    listen: '127.0.0.1:0',
    ...FAST,
    ...extra,
  });
  t.after(() => m.stop());
  return m;
}

function handleCount(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout').length;
}

test('a dialler connects, both sides see one session, folders join, status reports it', async (t) => {
  const f = randomFolder();
  const a = await manager(t, 'alpha', { directory: new MemoryDirectory([f]) });
  await a.start();
  const [addrA] = a.listenAddresses();
  assert.match(addrA as string, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const b = await manager(t, 'beta', { directory: new MemoryDirectory([f]), addresses: [addrA as string] });
  const joinedOnB = new Promise<void>((resolve) => b.on('session', (s: PeerSession) => s.once('joined', () => resolve())));
  await b.start();
  await joinedOnB;
  await waitUntil(() => a.sessions().length === 1 && (a.sessions()[0]?.joinedFolders().length ?? 0) === 1, 3000, 'A to see the joined session');
  const [sa] = a.sessions();
  const [sb] = b.sessions();
  assert.equal(sa?.remoteDeviceId, (await testIdentity('beta')).deviceId);
  assert.equal(sb?.remoteDeviceId, (await testIdentity('alpha')).deviceId);
  const rows = b.peerStatus();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.connected, true);
  assert.equal(rows[0]?.name, 'alpha');
  assert.equal(rows[0]?.address, addrA);
  assert.ok((rows[0]?.outBytes ?? 0) > 0 && (rows[0]?.inBytes ?? 0) > 0);
  await b.stop();
  await waitUntil(() => a.sessions().length === 0, 3000, 'A to notice B left');
  const rowsA = a.peerStatus();
  assert.deepEqual(rowsA, []); // A has no address for B, and B is gone
  await a.stop();
});

test('simultaneous dials are deduplicated to the same single connection on both sides', async (t) => {
  const a = await manager(t, 'alpha');
  const b = await manager(t, 'beta');
  await a.start();
  await b.start();
  a.setAddresses([b.listenAddresses()[0] as string]);
  b.setAddresses([a.listenAddresses()[0] as string]);
  let closedA = 0;
  a.on('session-closed', () => closedA++);
  await waitUntil(() => a.sessions().length === 1 && b.sessions().length === 1, 3000, 'sessions');
  // Let any second connection arrive and be resolved, then check stability.
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(a.sessions().length, 1);
  assert.equal(b.sessions().length, 1);
  const [sa] = a.sessions();
  const [sb] = b.sessions();
  assert.notEqual(sa?.direction, sb?.direction, 'both sides kept the same connection');
  const aId = (await testIdentity('alpha')).deviceId;
  const bId = (await testIdentity('beta')).deviceId;
  const smallerIsA = aId < bId;
  assert.equal(sa?.direction, smallerIsA ? 'outgoing' : 'incoming', 'kept the one dialled by the smaller id');
  assert.equal(closedA, 0, 'the kept session never flapped');
  await Promise.all([a.stop(), b.stop()]);
});

test('never connects to itself', async (t) => {
  const a = await manager(t, 'alpha');
  await a.start();
  a.setAddresses([a.listenAddresses()[0] as string]);
  await waitUntil(() => (a.peerStatus()[0]?.lastError ?? '').includes('this device'), 3000, 'self detection');
  assert.equal(a.sessions().length, 0);
  assert.equal(a.peerStatus()[0]?.id, (await testIdentity('alpha')).deviceId);
  await a.stop();
});

test('redials with backoff after the peer goes away and comes back on the same port', async (t) => {
  const a1 = await manager(t, 'alpha');
  await a1.start();
  const addr = a1.listenAddresses()[0] as string;
  const port = Number(addr.split(':').pop());
  const b = await manager(t, 'beta', { listen: null, addresses: [addr] });
  const sessions: PeerSession[] = [];
  b.on('session', (s: PeerSession) => sessions.push(s));
  await b.start();
  await waitUntil(() => b.sessions().length === 1, 3000, 'first connection');
  await a1.stop();
  await waitUntil(() => b.sessions().length === 0, 3000, 'B to notice');
  // While A is down, dials fail and are retried.
  await waitUntil(() => (b.peerStatus()[0]?.lastError ?? '') !== '', 3000, 'a failed redial');
  assert.equal(b.peerStatus()[0]?.connected, false);
  const a2 = await manager(t, 'alpha', { listen: `127.0.0.1:${port}` });
  await a2.start();
  await waitUntil(() => b.sessions().length === 1, 5000, 'reconnection');
  assert.equal(sessions.length, 2);
  assert.ok((b.peerStatus()[0]?.inBytes ?? 0) > sessions[1]!.stats().inBytes, 'byte counters survive reconnects');
  await Promise.all([a2.stop(), b.stop()]);
});

test('a pinned device id refuses an impostor at that address', async (t) => {
  const a = await manager(t, 'alpha');
  await a.start();
  const other = (await testIdentity('other')).deviceId;
  const b = await manager(t, 'beta', { listen: null, addresses: [{ address: a.listenAddresses()[0] as string, deviceId: other }] });
  await b.start();
  await waitUntil(() => (b.peerStatus()[0]?.lastError ?? '') !== '', 3000, 'refusal');
  assert.match(b.peerStatus()[0]?.lastError ?? '', /not the pinned device/);
  assert.equal(b.peerStatus()[0]?.lastErrorReason, 'wrong-device');
  assert.equal(b.sessions().length, 0);
  await Promise.all([a.stop(), b.stop()]);
});

test('bad addresses are ERR_ADDRESS and change nothing; stop leaves no handles', async (t) => {
  const before = handleCount();
  const a = await manager(t, 'alpha', { addresses: ['tcp://127.0.0.1:9'] });
  assert.throws(() => a.setAddresses(['tcp://127.0.0.1:1', 'nonsense']), (e) => isSealsyncError(e, 'ERR_ADDRESS'));
  assert.deepEqual(a.addresses(), ['tcp://127.0.0.1:9']);
  await a.start();
  await new Promise((r) => setTimeout(r, 100));
  await a.stop();
  await waitUntil(() => handleCount() <= before, 2000, 'handles released');
});

test('forgetAddresses ends the session it led to and never redials; a dial in flight is dropped', async (t) => {
  const a = await manager(t, 'alpha');
  await a.start();
  const addr = a.listenAddresses()[0] as string;
  const b = await manager(t, 'beta', { listen: null, addresses: [addr] });
  await b.start();
  await waitUntil(() => b.sessions().length === 1, 3000, 'first connection');
  assert.deepEqual(await b.forgetAddresses([addr]), [(await testIdentity('alpha')).deviceId]);
  assert.equal(b.sessions().length, 0);
  assert.deepEqual(b.addresses(), []);
  // Removed at every point of a dial: before the timer fires, during TLS, during the Hello exchange.
  for (const delayMs of [0, 1, 2, 4, 8, 16]) {
    b.setAddresses([addr]);
    await new Promise((r) => setTimeout(r, delayMs));
    await b.forgetAddresses([addr]);
    assert.equal(b.sessions().length, 0, `removed after ${delayMs} ms`);
  }
  // Nothing comes back later (the backoff's first step is 30 ms here).
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b.sessions().length, 0);
  assert.deepEqual(b.peerStatus(), []);
  await waitUntil(() => a.sessions().length === 0, 3000, 'A to see every session end');
  assert.deepEqual(await b.forgetAddresses(['tcp://127.0.0.1:9']), [], 'an unknown address changes nothing');
  await Promise.all([a.stop(), b.stop()]);
});

test('a session whose address was removed during its handshake is closed, not adopted', async (t) => {
  const a = await manager(t, 'alpha');
  await a.start();
  const addr = a.listenAddresses()[0] as string;
  const b = await manager(t, 'beta', { listen: null });
  await b.start();
  let adopted = 0;
  b.on('session', () => adopted++);
  // setAddresses (unlike forgetAddresses) leaves sessions up: only the in-flight dial is at stake.
  for (const delayMs of [0, 1, 2, 4, 8]) {
    b.setAddresses([addr]);
    await new Promise((r) => setTimeout(r, delayMs));
    const connectedFirst = adopted;
    b.setAddresses([]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(adopted, connectedFirst, `removed after ${delayMs} ms: no session adopted after the removal`);
    // One that connected before the removal is legitimately kept (setAddresses leaves sessions up).
    if (b.sessions().length > 0) await b.forgetAddresses([addr]);
    await waitUntil(() => b.sessions().length === 0, 3000, 'no session');
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(b.sessions().length, 0);
  await Promise.all([a.stop(), b.stop()]);
});

test('setRateLimit retunes open sessions and applies to new ones; setLocalName is sent on the next connection', async (t) => {
  const f = randomFolder();
  const a = await manager(t, 'alpha', { directory: new MemoryDirectory([f]) });
  await a.start();
  const addr = a.listenAddresses()[0] as string;
  const b = await manager(t, 'beta', { listen: null, directory: new MemoryDirectory([f]), addresses: [addr] });
  await b.start();
  await waitUntil(() => (a.sessions()[0]?.joinedFolders().length ?? 0) === 1 && (b.sessions()[0]?.joinedFolders().length ?? 0) === 1,
    3000, 'joined both ways');
  const block = new Uint8Array(512 * 1024).fill(7);
  a.sessions()[0]!.onBlockRequest(async () => block);
  const fetch4 = async (): Promise<number> => {
    const t0 = Date.now();
    for (let i = 0; i < 4; i++) await b.sessions()[0]!.requestBlock(f.folderId, new Uint8Array(32));
    return Date.now() - t0;
  };
  a.setRateLimit({ outBytesPerSec: 1024 * 1024 });
  const limited = await fetch4();
  assert.ok(limited >= 350, `2 MiB at 1 MiB/s after the change: ${limited} ms`);
  a.setRateLimit({ outBytesPerSec: 0 });
  await fetch4(); // pays nothing: unlimited
  // The name and the limit go to the next session too.
  a.setLocalName('alpha-renamed');
  a.setRateLimit({ outBytesPerSec: 1024 * 1024 });
  await b.disconnect((await testIdentity('alpha')).deviceId);
  await waitUntil(() => b.sessions()[0]?.remoteName === 'alpha-renamed' && (a.sessions()[0]?.joinedFolders().length ?? 0) === 1,
    5000, 'reconnected with the new name');
  await waitUntil(() => (b.sessions()[0]?.joinedFolders().length ?? 0) === 1, 3000, 'b joined again');
  a.sessions()[0]!.onBlockRequest(async () => block);
  const again = await fetch4();
  assert.ok(again >= 350, `new session limited too: ${again} ms`);
  await Promise.all([a.stop(), b.stop()]);
});

test('an address without a device id pins the first device that answers; another device there is then refused', async (t) => {
  const f = randomFolder();
  const a = await manager(t, 'alpha', { directory: new MemoryDirectory([f]) });
  await a.start();
  const [addrA] = a.listenAddresses() as [string];
  const b = await manager(t, 'beta', { directory: new MemoryDirectory([f]), addresses: [addrA] });
  const pinned = new Promise<[string, string]>((resolve) => b.on('pinned', (addr: string, id: string) => resolve([addr, id])));
  await b.start();
  assert.deepEqual(await pinned, [addrA, (await testIdentity('alpha')).deviceId]);
  assert.equal(b.pins().get(addrA), (await testIdentity('alpha')).deviceId);
  // Re-listing the address without an id keeps the pin learned on first use.
  b.setAddresses([addrA]);
  assert.equal(b.pins().get(addrA), (await testIdentity('alpha')).deviceId);
  // Another device takes over the address: refused, and status says why.
  const port = Number(addrA.split(':').pop());
  await a.stop();
  const impostor = await manager(t, 'impostor', { directory: new MemoryDirectory([f]), listen: `127.0.0.1:${port}` });
  await impostor.start();
  await waitUntil(() => b.peerStatus().some((p) => p.lastErrorReason === 'wrong-device'), 5000, 'B to refuse the impostor');
  const row = b.peerStatus().find((p) => p.address === addrA);
  assert.equal(row?.connected, false);
  assert.match(row?.lastError ?? '', /not the pinned device/);
  assert.equal(impostor.sessions().length, 0);
});

test('refused devices get no session, incoming or dialled, and open ones close', async (t) => {
  const f = randomFolder();
  const a = await manager(t, 'alpha', { directory: new MemoryDirectory([f]) });
  await a.start();
  const [addrA] = a.listenAddresses() as [string];
  const b = await manager(t, 'beta', { directory: new MemoryDirectory([f]), addresses: [addrA] });
  await b.start();
  await waitUntil(() => a.sessions().length === 1, 5000, 'a session');
  a.setRefusedDevices([(await testIdentity('beta')).deviceId]);
  await waitUntil(() => a.sessions().length === 0 && b.sessions().length === 0, 5000, 'the session to close');
  // B keeps redialling; A never keeps a session with it.
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(a.sessions().length, 0);
  b.setRefusedDevices([(await testIdentity('alpha')).deviceId]);
  a.setRefusedDevices([]);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(b.sessions().length, 0);
  assert.match(b.peerStatus()[0]?.lastError ?? '', /unlinked/);
});
