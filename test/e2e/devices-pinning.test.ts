/**
 * Pinning with real daemons: peers are known by device id, addresses are
 * hints. `peer add ID@HOST:PORT` and `tcp://HOST:PORT#ID` pin that device;
 * a bare address pins the first device that answers and says so (TOFU); a
 * device whose certificate is not the pinned one is refused and status says
 * so; every bad spelling is one line and changes nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, TestHome } from './helpers/harness.js';

const CONNECT_TIMEOUT_MS = 15_000;

let root: string;
let a: TestHome;
let b: TestHome;
let c: TestHome;
before(async () => {
  root = await makeTempDir();
  const init = (name: string) => ['--name', name, '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'];
  [a, b, c] = await Promise.all([
    TestHome.create({ root, name: 'a', init: init('alpha') }),
    TestHome.create({ root, name: 'b', init: init('beta') }),
    TestHome.create({ root, name: 'c', init: init('gamma') }),
  ]);
  await Promise.all([a.startDaemon(), b.startDaemon(), c.startDaemon()]);
});
after(async () => {
  await Promise.all([a.cleanup(), b.cleanup(), c.cleanup()]);
  await rm(root, { recursive: true, force: true });
});

async function configPeers(h: TestHome): Promise<{ address: string; deviceId?: string }[]> {
  return JSON.parse(await readFile(join(h.home, 'config.json'), 'utf8')).peers;
}

test('every bad spelling of a peer is refused in one line and changes nothing', async () => {
  const aId = (await a.status()).device.id;
  const addr = (await a.listenAddress()).slice('tcp://'.length);
  const typo = (aId[0] === 'A' ? 'B' : 'A') + aId.slice(1);
  for (const bad of [
    `${typo}@${addr}`, `tcp://${addr}#${typo}`, `${aId}@`, `@${addr}`, `tcp://${addr}#`, `${aId}@tcp://${addr}#${aId}`,
    `tcp://${aId}@${addr}`, `${aId}@${addr.split(':')[0]}`, `${aId}@${addr.split(':')[0]}:0`, 'nope', `${aId}`,
  ]) {
    const r = await b.cli(['peer', 'add', bad]);
    assert.notEqual(r.code, 0, bad);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /address|device id|peer/i, bad);
  }
  assert.deepEqual(await configPeers(b), []);
});

test('ID@HOST:PORT pins that device and connects', async () => {
  const aId = (await a.status()).device.id;
  const addr = await a.listenAddress();
  const out = await b.cliOk(['peer', 'add', `${aId.toLowerCase()}@${addr.slice('tcp://'.length)}`]);
  assert.match(out, new RegExp(`pinned to device ${aId}`));
  await b.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === aId), { timeoutMs: CONNECT_TIMEOUT_MS, description: 'b connected to a' });
  assert.deepEqual(await configPeers(b), [{ address: addr, deviceId: aId }]);
  await b.cliOk(['peer', 'remove', aId]);
});

test('a pinned id that is not the device at the address is refused, and status says so', async () => {
  const cId = (await c.status()).device.id;
  const addr = await a.listenAddress();
  await b.cliOk(['peer', 'add', `${addr}#${cId}`]);
  const s = await b.waitForStatus((st) => st.peers.some((p) => p.problem?.reason === 'wrong-device'), { timeoutMs: CONNECT_TIMEOUT_MS, description: 'the refusal in status' });
  const row = s.peers.find((p) => p.address === addr);
  assert.equal(row?.connected, false);
  assert.match(row?.problem?.message ?? '', /not the pinned device/);
  assert.match(row?.problem?.message ?? '', new RegExp(cId));
  const bId = (await b.status()).device.id;
  assert.ok(!(await a.status()).peers.some((p) => p.connected && p.id === bId), 'a kept no session with b');
  await b.cliOk(['peer', 'remove', addr]);
});

test('a bare address pins the first device that answers (trust on first use) and says so', async () => {
  const aId = (await a.status()).device.id;
  const addr = await a.listenAddress();
  const out = await c.cliOk(['peer', 'add', addr]);
  assert.match(out, /trust on first use/);
  assert.match(out, new RegExp(`pinned the first device that answered, ${aId}`));
  await c.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === aId), { timeoutMs: CONNECT_TIMEOUT_MS, description: 'c connected to a' });
  // Saved in the config: a restart keeps the pin.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (await configPeers(c))[0]?.deviceId === undefined) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await configPeers(c), [{ address: addr, deviceId: aId }]);
});
