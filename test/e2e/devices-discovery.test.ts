/**
 * LAN discovery with real daemons in two network namespaces joined by a
 * bridge that this test creates and removes (root only; skipped with the
 * reason otherwise). Two daemons that share a folder find each other and
 * sync with no `peer add` when discovery is on, and never when it is off
 * (`init --no-discovery`); a listener in a third namespace captures the
 * announcements: the daemons with discovery off send none, and no packet
 * carries a device id, a folder id or the port in clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDeviceId } from '../../src/crypto/device-id.js';
import { parseKey } from '../../src/crypto/key-text.js';
import { scanSettled, TestHome } from './helpers/harness.js';
import { TestLan, useTestLan } from './helpers/netns.js';

const lan = new TestLan('ssd', '10.213.77', 3);
const SUBNET = lan.subnet;
const FIND_TIMEOUT_MS = 30_000;
/** How long daemons with discovery off are watched for any connection or packet. */
const QUIET_MS = 12_000;
/** A bound on the capture while the daemons with discovery on start, share a folder and find each other (it stops once they did). */
const CAPTURE_MAX_MS = 180_000;

const { skip, homes, root: tempRoot } = useTestLan(lan);

async function pair(tag: string, discovery: boolean): Promise<{ a: TestHome; b: TestHome; dirA: string; dirB: string; key: string }> {
  const root = await tempRoot();
  const flags = (name: string) => ['--name', name, '--listen', '0.0.0.0:0', '--no-ui', ...(discovery ? [] : ['--no-discovery'])];
  const a = await TestHome.create({ root, name: `${tag}a`, init: flags(`${tag}-a`) });
  const b = await TestHome.create({ root, name: `${tag}b`, init: flags(`${tag}-b`) });
  homes.push(a, b);
  await a.startDaemon({ wrapper: lan.wrapper(0) });
  await b.startDaemon({ wrapper: lan.wrapper(1) });
  const dirA = join(root, `${tag}-dir-a`);
  const dirB = join(root, `${tag}-dir-b`);
  await mkdir(dirA);
  await mkdir(dirB);
  await writeFile(join(dirA, 'found.txt'), `found on the LAN (${tag})\n`);
  const key = await a.newKey();
  await a.cliOk(['folder', 'add', dirA, '--key', key]);
  await b.cliOk(['folder', 'add', dirB, '--key', key]);
  return { a, b, dirA, dirB, key };
}

test('two daemons in two namespaces on one bridge find each other and sync with discovery on, never with it off', { skip: skip ?? false }, async () => {
  // Off first: two daemons sharing a folder, discovery off. Nothing is sent, nothing connects.
  const off = await pair('off', false);
  const quiet = await lan.capture(2, QUIET_MS / 2);
  assert.deepEqual(quiet, [], 'daemons with discovery off send no announcement');
  for (const h of [off.a, off.b]) assert.deepEqual((await h.status()).peers, [], 'no peer with discovery off');

  const watching = lan.startCapture(2, CAPTURE_MAX_MS);
  const on = await pair('on', true);
  const aId = (await on.a.status()).device.id;
  const bId = (await on.b.status()).device.id;
  const seen = await on.b.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === aId), { timeoutMs: FIND_TIMEOUT_MS, description: 'b finds a on the LAN' });
  assert.match(seen.peers.find((p) => p.id === aId)?.address ?? '', new RegExp(`^tcp://${SUBNET.replace(/\./g, '\\.')}\\.1:\\d+$`));
  await on.b.waitForFolder(on.dirB, (f) => scanSettled(f) && f.localFiles === 1, { timeoutMs: FIND_TIMEOUT_MS });
  assert.equal(await readFile(join(on.dirB, 'found.txt'), 'utf8'), 'found on the LAN (on)\n');
  assert.deepEqual(JSON.parse(await readFile(join(on.b.home, 'config.json'), 'utf8')).peers, [], 'no peer was typed');

  const packets = await watching.stop();
  assert.ok(packets.length > 0, 'the listener heard the daemons with discovery on');
  assert.ok(packets.every((p) => p.from === `${SUBNET}.1` || p.from === `${SUBNET}.2`));
  const offIds = [(await off.a.status()).device.id, (await off.b.status()).device.id];
  const folderId = Buffer.from(parseKey(on.key).folderId);
  for (const p of packets.map((x) => Buffer.from(x.hex, 'hex'))) {
    for (const id of [aId, bId, ...offIds]) assert.equal(p.indexOf(Buffer.from(parseDeviceId(id)).subarray(0, 8)), -1, 'no device id in clear');
    assert.equal(p.indexOf(folderId.subarray(0, 8)), -1, 'no folder id in clear');
  }
  // All along, the daemons with discovery off never found each other.
  for (const h of [off.a, off.b]) assert.deepEqual((await h.status()).peers, [], 'still no peer with discovery off');
  assert.equal((await off.b.status()).folders[0]?.localFiles ?? 0, 0, 'nothing synced with discovery off');
});
