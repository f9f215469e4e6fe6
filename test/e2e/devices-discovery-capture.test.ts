/**
 * What an observer on the LAN captures from real daemons, over two discovery
 * periods: nothing constant in the payload.
 *
 * Three network namespaces on a bridge this test creates and removes (root
 * only; skipped with the reason otherwise). Daemons A and B run with
 * discovery on and the period shortened by SEALSYNC_DISCOVERY_PERIOD_MS (the
 * test-only clock injection, src/net/lan-discovery.ts), share one folder,
 * and A holds a second folder of its own. A plain UDP socket joined to the
 * discovery group in the third namespace records every announcement with
 * its arrival time, for a little over two periods. Then:
 * - the daemons found each other (the shortened period works end to end);
 * - within a period the same tags repeat (so the byte comparison below
 *   would see a constant if there were one);
 * - across periods no 8-byte run of any packet repeats, and no device id,
 *   folder id, source address or the port (as text, or as two bytes more
 *   often than chance) appears in any packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDeviceId } from '../../src/crypto/device-id.js';
import { ANNOUNCE_ENTRY_BYTES, ANNOUNCE_PACKET_BYTES, DISCOVERY_TAG_BYTES } from '../../src/crypto/discovery.js';
import { parseKey } from '../../src/crypto/key-text.js';
import { TestHome } from './helpers/harness.js';
import { TestLan, useTestLan, type CapturedPacket } from './helpers/netns.js';

const lan = new TestLan('ssc', '10.213.78', 3);
const PERIOD_MS = 4000;
/** Packets that arrive this soon after a period starts may have been sealed in the one before: left out. */
const BOUNDARY_SLACK_MS = 400;
const FIND_TIMEOUT_MS = 30_000;
const WINDOW = 8;

const { skip, homes, root: tempRoot } = useTestLan(lan);

function windows(packet: Buffer): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + WINDOW <= packet.length; i++) out.add(packet.subarray(i, i + WINDOW).toString('hex'));
  return out;
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++;
  return n;
}

test('a capture of real daemons\' announcements over two periods holds no constant identifier', { skip: skip ?? false }, async (t) => {
  const started = Date.now();
  const mark = (what: string) => t.diagnostic(`${what} after ${Date.now() - started} ms`);
  const root = await tempRoot();
  const env = { SEALSYNC_DISCOVERY_PERIOD_MS: String(PERIOD_MS) };
  const flags = (name: string) => ['--name', name, '--listen', '0.0.0.0:0', '--no-ui'];
  const a = await TestHome.create({ root, name: 'a', init: flags('cap-a') });
  const b = await TestHome.create({ root, name: 'b', init: flags('cap-b') });
  homes.push(a, b);
  await a.startDaemon({ env, wrapper: lan.wrapper(0) });
  await b.startDaemon({ env, wrapper: lan.wrapper(1) });
  const shared = (await a.newKey()).trim();
  const own = (await a.newKey()).trim();
  for (const [home, dir, key] of [[a, 'a-shared', shared], [b, 'b-shared', shared], [a, 'a-own', own]] as const) {
    await mkdir(join(root, dir));
    await home.cliOk(['folder', 'add', join(root, dir), '--key', key]);
  }
  mark('daemons up, folders added');
  const [sa, sb] = [await a.status(), await b.status()];
  const ids = [sa.device.id, sb.device.id].map((id) => Buffer.from(parseDeviceId(id)));
  const ports = [sa.device.listen, sb.device.listen].flat().map((l) => Number(/:(\d+)$/.exec(l)?.[1]));
  assert.ok(ports.length >= 2 && ports.every((p) => p > 0), `listen ports known: ${ports.join(', ')}`);
  const folderIds = [shared, own].map((k) => Buffer.from(parseKey(k).folderId));

  // Start on a period boundary so the capture spans two whole periods and a bit of a third.
  await new Promise((r) => setTimeout(r, PERIOD_MS - (Date.now() % PERIOD_MS) + 50));
  const captured: CapturedPacket[] = await lan.capture(2, 2 * PERIOD_MS + PERIOD_MS / 2);
  mark('captured');
  await b.waitForStatus((s) => s.peers.some((p) => p.connected && p.id === sa.device.id), { timeoutMs: FIND_TIMEOUT_MS, description: 'b finds a on the LAN' });

  const senders = new Set([lan.address(0), lan.address(1)]);
  assert.ok(captured.every((p) => senders.has(p.from)), 'only the two daemons announce');
  const packets = captured.map((p) => ({ ...p, bytes: Buffer.from(p.hex, 'hex'), period: Math.floor(p.at / PERIOD_MS) }));
  assert.ok(packets.every((p) => p.bytes.length === ANNOUNCE_PACKET_BYTES), 'every announcement has the one fixed size');

  const byPeriod = new Map<number, typeof packets>();
  for (const p of packets.filter((x) => x.at % PERIOD_MS >= BOUNDARY_SLACK_MS)) byPeriod.set(p.period, [...(byPeriod.get(p.period) ?? []), p]);
  const periods = [...byPeriod.keys()].sort();
  t.diagnostic(`captured ${packets.length} packets; per period: ${periods.map((n) => (byPeriod.get(n) ?? []).length).join(', ')}`);
  for (const from of senders) {
    const heard = periods.filter((n) => (byPeriod.get(n) ?? []).filter((p) => p.from === from).length >= 2);
    assert.ok(heard.length >= 2, `${from} was heard at least twice in each of two periods (periods: ${heard.join(', ')})`);
  }

  // The control: within a period a sender's tags repeat, so a constant would show as a repeated run.
  for (const from of senders) {
    const inFirst = (byPeriod.get(periods[0] as number) ?? []).filter((p) => p.from === from);
    const tags = (p: Buffer) => new Set(Array.from({ length: p.length / ANNOUNCE_ENTRY_BYTES }, (_, i) => p.subarray(i * ANNOUNCE_ENTRY_BYTES, i * ANNOUNCE_ENTRY_BYTES + DISCOVERY_TAG_BYTES).toString('hex')));
    const first = tags(inFirst[0]?.bytes ?? Buffer.alloc(0));
    assert.ok([...tags(inFirst[1]?.bytes ?? Buffer.alloc(0))].some((t) => first.has(t)), `${from}'s packets within one period share a tag`);
  }

  // Across periods: no 8-byte run of a packet from one period occurs in any packet of another.
  for (const p of periods) {
    const seen = new Set<string>();
    for (const pkt of byPeriod.get(p) ?? []) for (const w of windows(pkt.bytes)) seen.add(w);
    for (const q of periods.filter((x) => x > p)) {
      for (const pkt of byPeriod.get(q) ?? []) {
        const repeated = [...windows(pkt.bytes)].filter((w) => seen.has(w));
        assert.deepEqual(repeated, [], `a run from period ${p} repeats in period ${q}`);
      }
    }
  }

  // Nothing identifying in clear, in any packet (boundary ones included).
  const all = packets.map((p) => p.bytes);
  const needles = [
    ...ids.flatMap((id) => [id, id.subarray(0, WINDOW), id.subarray(-WINDOW)]),
    ...folderIds.flatMap((f) => [f.subarray(0, WINDOW), f.subarray(-WINDOW)]),
    ...[...senders].map((s) => Buffer.from(s.split('.').map(Number))),
    ...ports.map((p) => Buffer.from(String(p))),
    ...ids.flatMap((id) => ports.map((p) => Buffer.concat([id.subarray(-6), Buffer.from([p >> 8, p & 0xff])]))),
  ];
  for (const pkt of all) for (const n of needles) assert.equal(pkt.indexOf(n), -1, `${n.toString('hex')} appears in clear`);
  // Two bytes occur by chance about once in 105 packets; in clear they would be in every packet from that daemon.
  for (const port of ports) {
    const hits = all.reduce((n, pkt) => n + count(pkt, Buffer.from([port >> 8, port & 0xff])), 0);
    assert.ok(hits <= Math.max(5, all.length / 4), `port ${port} as two bytes occurs ${hits} times in ${all.length} packets`);
  }
});
