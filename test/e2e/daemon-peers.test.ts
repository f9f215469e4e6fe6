/**
 * Two daemons on loopback: `peer add` makes them connect (each sees the other's
 * device id and name, with byte counters), the connection survives in
 * `status --json`, and a stopped peer shows as disconnected.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, TestHome, type DaemonProcess } from './helpers/harness.js';

const CONNECT_TIMEOUT_MS = 15_000;

let root: string;
let a: TestHome;
let b: TestHome;
let da: DaemonProcess;
before(async () => {
  root = await makeTempDir();
  [a, b] = await Promise.all([
    TestHome.create({ root, name: 'a', init: ['--name', 'alpha', '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'] }),
    TestHome.create({ root, name: 'b', init: ['--name', 'beta', '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'] }),
  ]);
  [da] = await Promise.all([a.startDaemon(), b.startDaemon()]);
});
after(async () => {
  await a.cleanup();
  await b.cleanup();
  const { rm } = await import('node:fs/promises');
  await rm(root, { recursive: true, force: true });
});

test('peer add connects both ways; status shows ids, names and bytes', async () => {
  const sa = await a.status();
  const sb = await b.status();
  const aAddress = await a.listenAddress();
  assert.match(aAddress, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  await b.cliOk(['peer', 'add', aAddress]);
  const seenByB = await b.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === sa.device.id),
    { timeoutMs: CONNECT_TIMEOUT_MS, description: 'b connected to a' });
  const pb = seenByB.peers.find((p) => p.id === sa.device.id);
  assert.equal(pb?.name, 'alpha');
  assert.equal(pb?.address, aAddress);
  assert.ok((pb?.inBytes ?? 0) > 0 && (pb?.outBytes ?? 0) > 0);
  const seenByA = await a.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === sb.device.id),
    { timeoutMs: CONNECT_TIMEOUT_MS, description: 'a sees b' });
  assert.equal(seenByA.peers.find((p) => p.id === sb.device.id)?.name, 'beta');
  const list = JSON.parse(await b.cliOk(['peer', 'list', '--json']));
  assert.equal(list.length, 1);
  assert.equal(list[0].connected, true);
});

test('a stopped peer shows as disconnected, then can be removed by device id', async () => {
  const aId = (await a.status()).device.id;
  assert.equal(await da.stop(), 0);
  await b.waitForStatus((s) => s.peers.some((p) => p.id === aId && !p.connected),
    { timeoutMs: CONNECT_TIMEOUT_MS, description: 'b sees a gone' });
  await b.cliOk(['peer', 'remove', aId]);
  assert.deepEqual((await b.status()).peers, []);
});
