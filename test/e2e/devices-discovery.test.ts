/**
 * LAN discovery with real daemons in two network namespaces joined by a
 * bridge that this test creates and removes (root only; skipped with the
 * reason otherwise). Two daemons that share a folder find each other and
 * sync with no `peer add` when discovery is on, and never when it is off
 * (`init --no-discovery`); a listener in a third namespace captures the
 * announcements: the daemons with discovery off send none, and no packet
 * carries a device id, a folder id or the port in clear.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDeviceId } from '../../src/crypto/device-id.js';
import { parseKey } from '../../src/crypto/key-text.js';
import { DISCOVERY_GROUP, DISCOVERY_PORT } from '../../src/net/lan-discovery.js';
import { makeTempDir, scanSettled, TestHome } from './helpers/harness.js';

const SUFFIX = String(process.pid % 100000);
const BRIDGE = `ssbr${SUFFIX}`;
const NS = [1, 2, 3].map((i) => `ssd${i}-${SUFFIX}`);
const SUBNET = '10.213.77';
const FIND_TIMEOUT_MS = 30_000;
/** How long daemons with discovery off are watched for any connection or packet. */
const QUIET_MS = 12_000;
/** The capture while the daemons with discovery on start, share a folder and find each other. */
const CAPTURE_MS = 30_000;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function namespacesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    ip(['netns', 'add', `ssprobe-${SUFFIX}`]);
    ip(['netns', 'del', `ssprobe-${SUFFIX}`]);
    return null;
  } catch (err) {
    return `ip netns is not available: ${(err as Error).message.split('\n')[0]}`;
  }
}

const skip = namespacesUnavailable();

function teardown(): void {
  for (const ns of NS) { try { ip(['netns', 'del', ns]); } catch { /* not there */ } }
  try { ip(['link', 'del', BRIDGE]); } catch { /* not there */ }
}

function setup(): void {
  teardown();
  ip(['link', 'add', BRIDGE, 'type', 'bridge', 'mcast_snooping', '0']);
  ip(['link', 'set', BRIDGE, 'up']);
  NS.forEach((ns, i) => {
    const veth = `ssv${i + 1}-${SUFFIX}`;
    ip(['netns', 'add', ns]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', veth, 'master', BRIDGE, 'up']);
    ip(['-n', ns, 'addr', 'add', `${SUBNET}.${i + 1}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
  });
}

/** Listens on the discovery group in `ns` for `ms`; every packet as hex with its source. */
function capture(ns: string, ms: number): Promise<{ from: string; hex: string }[]> {
  const script = `
    const dgram = require('node:dgram');
    const out = [];
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (m, r) => out.push({ from: r.address, hex: m.toString('hex') }));
    s.bind(${DISCOVERY_PORT}, () => { s.addMembership('${DISCOVERY_GROUP}', '${SUBNET}.3'); });
    setTimeout(() => { s.close(); process.stdout.write(JSON.stringify(out)); }, ${ms});`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`capture failed: ${stderr}`))));
  });
}

let root: string;
const homes: TestHome[] = [];
before(() => { if (!skip) setup(); });
after(async () => {
  for (const h of homes) await h.cleanup();
  if (root) await rm(root, { recursive: true, force: true });
  if (!skip) teardown();
});

async function pair(tag: string, discovery: boolean): Promise<{ a: TestHome; b: TestHome; dirA: string; dirB: string; key: string }> {
  root ??= await makeTempDir();
  const flags = (name: string) => ['--name', name, '--listen', '0.0.0.0:0', '--no-ui', ...(discovery ? [] : ['--no-discovery'])];
  const a = await TestHome.create({ root, name: `${tag}a`, init: flags(`${tag}-a`) });
  const b = await TestHome.create({ root, name: `${tag}b`, init: flags(`${tag}-b`) });
  homes.push(a, b);
  await a.startDaemon({ wrapper: ['ip', 'netns', 'exec', NS[0] as string] });
  await b.startDaemon({ wrapper: ['ip', 'netns', 'exec', NS[1] as string] });
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
  const quiet = await capture(NS[2] as string, QUIET_MS / 2);
  assert.deepEqual(quiet, [], 'daemons with discovery off send no announcement');
  for (const h of [off.a, off.b]) assert.deepEqual((await h.status()).peers, [], 'no peer with discovery off');

  const watching = capture(NS[2] as string, CAPTURE_MS);
  const on = await pair('on', true);
  const aId = (await on.a.status()).device.id;
  const bId = (await on.b.status()).device.id;
  const seen = await on.b.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === aId), { timeoutMs: FIND_TIMEOUT_MS, description: 'b finds a on the LAN' });
  assert.match(seen.peers.find((p) => p.id === aId)?.address ?? '', new RegExp(`^tcp://${SUBNET.replace(/\./g, '\\.')}\\.1:\\d+$`));
  await on.b.waitForFolder(on.dirB, (f) => scanSettled(f) && f.localFiles === 1, { timeoutMs: FIND_TIMEOUT_MS });
  assert.equal(await readFile(join(on.dirB, 'found.txt'), 'utf8'), 'found on the LAN (on)\n');
  assert.deepEqual(JSON.parse(await readFile(join(on.b.home, 'config.json'), 'utf8')).peers, [], 'no peer was typed');

  const packets = await watching;
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
